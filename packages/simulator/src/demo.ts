/**
 * `windsock demo`: a whole Windsock loop on a laptop with nothing installed. An embedded PostgreSQL
 * (PGlite) holds an Airflow metadb that the simulator drives; every few seconds the demo runs the
 * real services' `--once --format json` commands (as child processes, exactly as an operator would)
 * against it and the simulated log folder, and prints what Windsock reports next to the
 * simulator's ground truth.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CommandContext, ConfigError, type WindsockCommand } from '@windsock/core';
import { parseDurationSeconds, parseVersion } from './command.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
import { type SimulatedAirflowVersion, Simulator } from './simulator.ts';
import type { GroundTruth } from './truth-report.ts';
import { demoWorkload } from './workload.ts';

interface SnapshotMetric {
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

const CLI = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));

/** Run `windsock <args>` and parse its JSON snapshot. */
function windsockJson(args: string[]): Promise<SnapshotMetric[]> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [CLI, ...args, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('exit', (code) => {
      if (code !== 0) return rej(new Error(`windsock ${args[0]} exited ${code}: ${err.trim().split('\n').pop()}`));
      try {
        res((JSON.parse(out) as { metrics: SnapshotMetric[] }).metrics);
      } catch {
        rej(new Error(`windsock ${args[0]} printed no JSON snapshot`));
      }
    });
  });
}

const sum = (ms: readonly SnapshotMetric[], name: string, where: Record<string, string> = {}) =>
  ms
    .filter((m) => m.name === name && Object.entries(where).every(([k, v]) => m.dimensions[k] === v))
    .reduce((a, m) => a + m.value, 0);

function table(rows: Array<[string, number, number]>): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = rows.map(([label, ours, truth]) => {
    const mark = ours === truth ? 'ok' : 'DIFF';
    return `  ${label.padEnd(w)}  ${String(ours).padStart(8)}  ${String(truth).padStart(8)}  ${mark}`;
  });
  return `  ${'metric'.padEnd(w)}  ${'windsock'.padStart(8)}  ${'truth'.padStart(8)}\n${lines.join('\n')}\n`;
}

function rowsFor(truth: GroundTruth, depth: SnapshotMetric[], logs: SnapshotMetric[]): Array<[string, number, number]> {
  const t = truth.metrics as unknown as SnapshotMetric[];
  const rows: Array<[string, number, number]> = [];
  for (const [queue, states] of Object.entries(truth.depth.taskInstances)) {
    for (const state of ['queued', 'running']) {
      rows.push([
        `TaskInstances{Queue=${queue},State=${state}}`,
        sum(depth, 'TaskInstances', { Queue: queue, State: state }),
        states[state] ?? 0,
      ]);
    }
  }
  for (const name of [
    'TasksSentToExecutor',
    'CeleryTasksReceived',
    'CeleryTasksSucceeded',
    'TaskInstancesFinished',
    'LogErrors',
    'LogWarnings',
    'Tracebacks',
    'UnparsedLines',
  ]) {
    rows.push([name, sum(logs, name), sum(t, name)]);
  }
  return rows;
}

/** Runs the demo; returns the exit code (1 when Windsock and the ground truth disagreed at the end). */
export async function runDemo(ctx: Pick<CommandContext, 'options' | 'stdout' | 'logger'>): Promise<number> {
  const o = ctx.options;
  const wallSeconds = parseDurationSeconds(String(o.duration ?? '60'), '--duration');
  const speed = Number(o.speed ?? 20);
  if (!(speed > 0)) throw new ConfigError(`--speed: '${String(o.speed)}' must be a positive number`);
  const intervalSeconds = Number(o.interval ?? 5);
  if (!(intervalSeconds >= 1))
    throw new ConfigError(`--interval: '${String(o.interval)}' must be a number of seconds, at least 1`);
  const version: SimulatedAirflowVersion = parseVersion(String(o.airflowVersion ?? '2.10'));
  const outDir = resolve(String(o.out ?? mkdtempSync(join(tmpdir(), 'windsock-demo-'))));
  let embedded: EmbeddedPostgres | undefined;
  let sim: Simulator | undefined;
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  try {
    embedded = await startEmbeddedPostgres();
    ctx.stdout.write(
      `windsock demo: Airflow ${version} simulated at ${speed}x on an embedded PostgreSQL (${embedded.url}); logs in ${outDir}\n` +
        `every ${intervalSeconds} s: windsock queue-depth --once and windsock log-metrics --once, compared with the ground truth\n\n`,
    );
    sim = new Simulator({
      version,
      seed: Number(o.seed ?? 1),
      workload: demoWorkload(),
      outDir,
      databaseUrl: embedded.url,
      speed,
      reset: true,
    });
    await sim.init();
    let last: Array<[string, number, number]> = [];
    for (let elapsed = 0; elapsed < wallSeconds && !stop; elapsed += intervalSeconds) {
      await sim.runFor(intervalSeconds * speed);
      const truth = sim.truth();
      const queues = Object.keys(truth.depth.taskInstances).join(',');
      const [depth, logs] = await Promise.all([
        windsockJson(['queue-depth', '--once', '--format', 'json', '--database-url', embedded.url, '--queues', queues]),
        windsockJson(['log-metrics', '--once', '--format', 'json', join(outDir, '**', '*.log')]),
      ]);
      last = rowsFor(truth, depth, logs);
      ctx.stdout.write(
        `virtual time ${truth.now} (${truth.totals.taskInstances} task instances, ${truth.tasksKilled} killed)\n${table(last)}\n`,
      );
    }
    const diffs = last.filter(([, a, b]) => a !== b).length;
    ctx.stdout.write(
      diffs === 0
        ? 'Windsock agreed with the ground truth on every metric shown.\n'
        : `${diffs} metric(s) differed from the ground truth.\n`,
    );
    return diffs === 0 ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    await sim?.close();
    await embedded?.stop();
  }
}

/** The `windsock demo` command. */
export const demoCommand: WindsockCommand = {
  name: 'demo',
  summary:
    'Run a simulated Airflow cluster on an embedded PostgreSQL and show what Windsock reports, next to the truth',
  options: [
    { flags: '--duration <time>', description: 'wall time to run (60, 2m)', defaultValue: '60' },
    { flags: '--speed <n>', description: 'virtual seconds per wall second', defaultValue: '20' },
    { flags: '--interval <seconds>', description: 'seconds between reports', defaultValue: '5' },
    { flags: '--airflow-version <version>', description: '2.10 or 3', defaultValue: '2.10' },
    { flags: '--seed <n>', description: 'simulator seed', defaultValue: '1' },
    { flags: '--out <dir>', description: 'folder for the simulated logs (default: a temp folder)' },
  ],
  run: (ctx: CommandContext) => runDemo(ctx),
};
