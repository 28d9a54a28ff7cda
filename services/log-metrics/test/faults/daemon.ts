/**
 * Helpers of the fault suite: the real `windsock log-metrics` process (spawned from bin/windsock.mjs)
 * publishing to an EMF file, real log files, and waits on events (log lines, published counts),
 * never on the clock.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../helpers.ts';

export const CLI = fileURLToPath(new URL('../../../../bin/windsock.mjs', import.meta.url));

/** One ERROR record (one line): LogErrors += 1. */
export function errorLine(i: number, pad = 0): string {
  return `[2024-05-01T10:00:00.000+0000] {fault.py:${i}} ERROR - fault record ${i} ${'x'.repeat(pad)}\n`;
}

/** Append `n` ERROR records numbered from `from`. */
export function appendErrors(path: string, from: number, n: number, pad = 0): void {
  let s = '';
  for (let i = from; i < from + n; i++) s += errorLine(i, pad);
  appendFileSync(path, s);
}

/** A running (or exited) log-metrics process. */
export interface Daemon {
  proc: ChildProcess;
  readonly log: string;
  exited: Promise<number | null>;
  /** Log records (JSON lines) with this `msg`. */
  records(msg: string): Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  term(): Promise<number | null>;
}

/** Options of {@link startDaemon}. */
export interface DaemonOptions {
  dir: string;
  inputs: string[];
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** Run as this uid/gid (setpriv), e.g. 65534 to meet real permission errors as a non-root user. */
  uid?: number;
}

/** Start `windsock log-metrics` on `inputs`, publishing to `<dir>/emf.log` every 0.3 s. */
export function startDaemon(o: DaemonOptions): Daemon {
  const args = [
    CLI,
    'log-metrics',
    ...o.inputs,
    '--sinks',
    'emf',
    '--flush-interval',
    '0.3',
    '--state-dir',
    o.stateDir ?? join(o.dir, 'state'),
    '--log-level',
    'debug',
    ...(o.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINDSOCK_CLUSTER: 'faults',
    WINDSOCK_HTTP__ENABLED: 'false',
    WINDSOCK_METRICS__EMF_PATH: join(o.dir, 'emf.log'),
    WINDSOCK_LOG_METRICS__POLL_INTERVAL_MS: '50',
    WINDSOCK_LOG_METRICS__RESCAN_INTERVAL_MS: '200',
    WINDSOCK_LOG_METRICS__IDLE_FINISH_MS: '100',
    ...o.env,
  };
  // The soak's switch is the test's, not a config key (the loader rejects unknown WINDSOCK_* names).
  delete env.WINDSOCK_SOAK;
  const proc =
    o.uid === undefined
      ? spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('setpriv', [`--reuid=${o.uid}`, `--regid=${o.uid}`, '--clear-groups', process.execPath, ...args], {
          env: { ...env, HOME: o.dir },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    get log() {
      return log;
    },
    exited,
    records(msg) {
      const out: Record<string, unknown>[] = [];
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec.msg === msg) out.push(rec);
        } catch {
          /* a line cut by the reader */
        }
      }
      return out;
    },
    async term() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Sum of each metric in an EMF file (0 when absent). */
export function emfTotals(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const m of doc._aws.CloudWatchMetrics[0]!.Metrics) out[m.Name] = (out[m.Name] ?? 0) + Number(doc[m.Name]);
  }
  return out;
}

/** Waits until `ok()` holds or the process exits, at most `ms` (a loaded CI machine is slow). */
export async function until(ok: () => boolean, d?: Daemon, ms = 90_000): Promise<boolean> {
  let gone = false;
  void d?.exited.then(() => {
    gone = true;
  });
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    if (gone) return ok();
    await sleep(25);
  }
  return ok();
}

/** Started and its first checkpoint written. */
export function started(d: Daemon): Promise<boolean> {
  return until(() => d.log.includes('service started'), d);
}
