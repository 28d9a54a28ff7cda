/** Ground-truth counters: what a correct log parser must report for the logs the simulator wrote. */

/** Where a line was written. */
export type Component = 'scheduler' | 'worker' | 'task';

/** One counter in the foundation's JSON metric shape. */
export interface TruthMetric {
  name: string;
  unit: 'Count';
  dimensions: Record<string, string>;
  value: number;
}

/** The log-metrics counters whose absence means zero (reported explicitly per component). */
export const PLAIN_COUNTERS = ['LogErrors', 'LogWarnings', 'Tracebacks', 'UnparsedLines'] as const;

/** Counts keyed by metric name and dimensions. */
export class TruthCounters {
  private readonly counts = new Map<string, TruthMetric>();

  /** Adds `n` to the counter `name` with `dimensions`. */
  add(name: string, dimensions: Record<string, string>, n = 1): void {
    const dims: Record<string, string> = {};
    for (const k of Object.keys(dimensions).sort()) {
      const v = dimensions[k];
      if (v !== undefined) dims[k] = v;
    }
    const key = `${name}|${JSON.stringify(dims)}`;
    const m = this.counts.get(key);
    if (m) m.value += n;
    else this.counts.set(key, { name, unit: 'Count', dimensions: dims, value: n });
  }

  /** All counters, sorted by name then dimensions (deterministic output). */
  list(): TruthMetric[] {
    return [...this.counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, m]) => ({ ...m, dimensions: { ...m.dimensions } }));
  }

  /** Sum of a counter over every dimension set matching `where`. */
  sum(name: string, where: Record<string, string> = {}): number {
    let s = 0;
    for (const m of this.counts.values()) {
      if (m.name !== name) continue;
      if (Object.entries(where).every(([k, v]) => m.dimensions[k] === v)) s += m.value;
    }
    return s;
  }
}
