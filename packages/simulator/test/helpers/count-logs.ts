/**
 * Counts what a log parser must report by plain regexes over the files (grep-like, line by line),
 * independent of @windsock/airflow's grammars, so the simulator's ground truth is checked against
 * the bytes it actually wrote.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Counts keyed `Name|{"Dim":"v",...}` (dimensions sorted). */
export type Counts = Map<string, number>;

/** The key used by {@link Counts}. */
export function key(name: string, dims: Record<string, string>): string {
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(dims).sort()) sorted[k] = dims[k]!;
  return `${name}|${JSON.stringify(sorted)}`;
}

function add(c: Counts, name: string, dims: Record<string, string>, n = 1): void {
  if (n === 0) return;
  const k = key(name, dims);
  c.set(k, (c.get(k) ?? 0) + n);
}

/** Every file under `dir`, relative paths, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const ls = text.split('\n');
  if (ls[ls.length - 1] === '') ls.pop();
  return ls;
}

/** Tracebacks: `Traceback (most recent call last):` lines, minus those that continue a chain. */
function tracebacks(ls: string[]): number {
  let n = 0;
  for (let i = 0; i < ls.length; i++) {
    if (ls[i] !== 'Traceback (most recent call last):') continue;
    const chained =
      i >= 2 && /^During handling of the above exception|^The above exception was the direct/.test(ls[i - 2] ?? '');
    if (!chained) n++;
  }
  return n;
}

/** Counts an output folder written for Airflow 2.x. */
export function countAirflow2(outDir: string): Counts {
  const c: Counts = new Map();
  const header = /^\[\d{4}-\d\d-\d\dT[\d:.]+\+0000\] \{[\w.]+:\d+\} (\w+) - (.*)$/;
  const celery = /^\[\d{4}-\d\d-\d\d [\d:,]+: (\w+)\/[\w-]+\] (.*)$/;
  for (const rel of listFiles(outDir)) {
    if (rel === 'truth.json') continue;
    const ls = lines(join(outDir, rel));
    if (rel.startsWith('scheduler/')) {
      for (let i = 0; i < ls.length; i++) {
        const m = header.exec(ls[i]!);
        if (!m) continue;
        const [, level, msg] = m as unknown as [string, string, string];
        if (level === 'ERROR' || level === 'CRITICAL') add(c, 'LogErrors', { Component: 'scheduler' });
        if (level === 'WARNING') add(c, 'LogWarnings', { Component: 'scheduler' });
        const sent = /^Sending TaskInstanceKey\(.*\) to \S+ with priority \d+ and queue (\S+)$/.exec(msg);
        const event = /^Received executor event with state (\w+) for task instance /.exec(msg);
        const finished = /^TaskInstance Finished: .* state=(\w+), .* queue=([^,]+), /.exec(msg);
        if (sent) add(c, 'TasksSentToExecutor', { Component: 'scheduler', Queue: sent[1]! });
        if (msg === 'Setting the following tasks to queued state:') {
          for (let j = i + 1; j < ls.length && ls[j]!.startsWith('\t<TaskInstance: '); j++) {
            add(c, 'TasksQueued', { Component: 'scheduler' });
          }
        }
        if (event) add(c, 'ExecutorEvents', { Component: 'scheduler', State: event[1]!.toUpperCase() });
        if (finished) {
          add(c, 'TaskInstancesFinished', {
            Component: 'scheduler',
            State: finished[1]!.toUpperCase(),
            Queue: finished[2]!,
          });
        }
      }
      add(c, 'Tracebacks', { Component: 'scheduler' }, tracebacks(ls));
    } else if (rel.startsWith('worker/')) {
      for (const l of ls) {
        const m = celery.exec(l);
        if (!m) continue;
        const [, level, msg] = m as unknown as [string, string, string];
        if (level === 'ERROR' || level === 'CRITICAL') add(c, 'LogErrors', { Component: 'worker' });
        if (level === 'WARNING') add(c, 'LogWarnings', { Component: 'worker' });
        if (/^Task \S*execute_command\[[0-9a-f-]+\] received$/.test(msg))
          add(c, 'CeleryTasksReceived', { Component: 'worker' });
        if (/^Task \S*execute_command\[[0-9a-f-]+\] succeeded in [\d.]+s: /.test(msg)) {
          add(c, 'CeleryTasksSucceeded', { Component: 'worker' });
        }
        if (/^Task \S*execute_command\[[0-9a-f-]+\] raised unexpected: /.test(msg)) {
          add(c, 'CeleryTasksFailed', { Component: 'worker' });
        }
      }
      add(c, 'Tracebacks', { Component: 'worker' }, tracebacks(ls));
    } else if (rel.startsWith('logs/')) {
      if (ls.length > 0 && !header.test(ls[0]!) && !ls[0]!.startsWith('***'))
        add(c, 'UnparsedLines', { Component: 'task' });
      // UI `***` lines are neither a header nor a continuation: unparsed.
      add(c, 'UnparsedLines', { Component: 'task' }, ls.filter((l) => l.startsWith('***')).length);
      for (const l of ls) {
        const m = header.exec(l);
        if (!m) continue;
        const [, level, msg] = m as unknown as [string, string, string];
        if (level === 'ERROR' || level === 'CRITICAL') add(c, 'LogErrors', { Component: 'task' });
        if (level === 'WARNING') add(c, 'LogWarnings', { Component: 'task' });
        const s = /Marking task as (\w+)/i.exec(msg);
        if (s) add(c, 'TaskStateMarked', { Component: 'task', State: s[1]!.toUpperCase() });
        const hb = /^WINDSOCK_HEARTBEAT_OK .*\bqueue=(\S+)/.exec(msg);
        if (hb) add(c, 'HeartbeatSuccess', { Component: 'task', Queue: hb[1]! });
      }
      add(c, 'Tracebacks', { Component: 'task' }, tracebacks(ls));
    }
  }
  return c;
}

/** Counts an output folder written for Airflow 3.x. */
export function countAirflow3(outDir: string): Counts {
  const c: Counts = new Map();
  const con = /^\d{4}-\d\d-\d\dT[\d:.]+Z \[(\w+)\s*\] (.*)$/;
  for (const rel of listFiles(outDir)) {
    if (rel === 'truth.json') continue;
    const ls = lines(join(outDir, rel));
    if (rel.startsWith('scheduler/') || rel.startsWith('worker/')) {
      const component = rel.startsWith('scheduler/') ? 'scheduler' : 'worker';
      for (let i = 0; i < ls.length; i++) {
        const m = con.exec(ls[i]!);
        if (!m) continue;
        const [, level, msg] = m as unknown as [string, string, string];
        if (level === 'error' || level === 'critical') add(c, 'LogErrors', { Component: component });
        if (level === 'warning') add(c, 'LogWarnings', { Component: component });
        const event = /^Received executor event with state (\w+) for task instance /.exec(msg);
        const finished = /^TaskInstance Finished: .* state=(\w+), .* queue=([^,]+), /.exec(msg);
        const final = /^Task finished\s+\[supervisor\] .*final_state=(\w+)/.exec(msg);
        if (msg === 'Setting the following tasks to queued state:') {
          for (let j = i + 1; j < ls.length && ls[j]!.startsWith('\t<TaskInstance: '); j++) {
            add(c, 'TasksQueued', { Component: 'scheduler' });
          }
        } else if (msg.startsWith('Trying to enqueue tasks: [')) {
          add(c, 'TasksSentToExecutor', { Component: 'scheduler' }, (msg.match(/<TaskInstance: /g) ?? []).length);
        } else if (event) {
          add(c, 'ExecutorEvents', { Component: 'scheduler', State: event[1]!.toUpperCase() });
        } else if (finished) {
          add(c, 'TaskInstancesFinished', {
            Component: 'scheduler',
            State: finished[1]!.toUpperCase(),
            Queue: finished[2]!,
          });
        } else if (final) {
          add(c, 'TaskFinalState', { Component: 'worker', State: final[1]!.toUpperCase() });
        } else if (/^Task \S*execute_workload\[[0-9a-f-]+\] received /.test(msg)) {
          add(c, 'CeleryTasksReceived', { Component: 'worker' });
        } else if (/^Task \S*execute_workload\[[0-9a-f-]+\] succeeded in [\d.]+s: /.test(msg)) {
          add(c, 'CeleryTasksSucceeded', { Component: 'worker' });
        } else if (/^Task \S*execute_workload\[[0-9a-f-]+\] raised unexpected: /.test(msg)) {
          add(c, 'CeleryTasksFailed', { Component: 'worker' });
        }
      }
      add(c, 'Tracebacks', { Component: component }, tracebacks(ls));
    } else if (rel.startsWith('logs/')) {
      for (const [i, l] of ls.entries()) {
        if (!l.startsWith('{')) {
          if (i === 0 || l.startsWith('***')) add(c, 'UnparsedLines', { Component: 'task' });
          continue;
        }
        const rec = JSON.parse(l) as { level: string; event: string; error_detail?: unknown };
        if (rec.level === 'error' || rec.level === 'critical') add(c, 'LogErrors', { Component: 'task' });
        if (rec.level === 'warning') add(c, 'LogWarnings', { Component: 'task' });
        if (rec.error_detail) add(c, 'Tracebacks', { Component: 'task' });
        const hb = /^WINDSOCK_HEARTBEAT_OK .*\bqueue=(\S+)/.exec(rec.event);
        if (hb) add(c, 'HeartbeatSuccess', { Component: 'task', Queue: hb[1]! });
      }
    }
  }
  return c;
}
