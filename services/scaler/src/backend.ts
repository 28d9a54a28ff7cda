/**
 * What the coordinator needs of a place workers run: count them, add some, remove one that has
 * already left. A backend never stops a running worker: workers leave by themselves (the exit
 * handshake), and the backend removes what is left of them.
 */

/** One worker as its backend sees it. */
export interface BackendWorker {
  /** The backend's id (container id, task ARN). */
  id: string;
  /** The worker's own id, as its agent reports it (container name, task id). */
  workerId: string;
  /** `starting`: created, not yet running; `gone`: exited (or stopped) and not yet removed. */
  state: 'starting' | 'running' | 'gone';
  exitCode?: number | null;
}

/** A pool's workers in one backend. Every method throws on a backend error (the coordinator then holds). */
export interface PoolBackend {
  readonly kind: string;
  /** Every worker of the pool, gone ones included until removed. */
  workers(): Promise<BackendWorker[]>;
  /** Start `n` more workers; resolves with their worker ids. */
  add(n: number): Promise<string[]>;
  /** Forget a worker that has left (only `gone` ones: a running worker is never removed). */
  remove(worker: BackendWorker): Promise<void>;
  /** Release connections. */
  close(): Promise<void>;
}

/** Workers that count toward the pool's size: starting or running. */
export function liveWorkers(workers: readonly BackendWorker[]): BackendWorker[] {
  return workers.filter((w) => w.state !== 'gone');
}
