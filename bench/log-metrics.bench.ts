/**
 * log-metrics bench: `windsock log-metrics --once --format json` on a ~2,000,000-line mixed Airflow
 * 2.10 corpus written by the simulator (scheduler, Celery worker and task logs in Airflow's folder
 * layout), side by side in one run with mtail `--one_shot` running bench/log-metrics.mtail (the same
 * counters, per line) and `grep -cE` of the same markers (one pass over the bytes: the floor).
 * Checks that windsock and mtail report the same counts, then prints lines/s, MB/s, peak RSS and ratios.
 *
 *   node --import tsx bench/log-metrics.bench.ts [--lines 2000000] [--rebuild] [--runs 3]
 *
 * The corpus is kept in bench/out/log-metrics-corpus/ and reused by later runs.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Simulator, steadyWorkload } from '@windsock/simulator';
import { freePort } from '../test/helpers/stack.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench/out/log-metrics-corpus');
const MTAIL_PROGRAM = join(ROOT, 'bench/log-metrics.mtail');
const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    rebuild: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
  },
});
const targetLines = Number(args.lines);
const runs = Number(args.runs);

/** The corpus: simulate until the logs hold `targetLines` lines (kept between runs). */
async function corpus(): Promise<{ lines: number; bytes: number; files: number }> {
  const meta = join(OUT, 'corpus.json');
  if (!args.rebuild && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8'));
    if (m.targetLines === targetLines) return m;
  }
  rmSync(OUT, { recursive: true, force: true });
  const t0 = performance.now();
  const sim = new Simulator({
    version: '2.10',
    seed: 42,
    workload: steadyWorkload({ taskInstancesPerHour: 60_000, workers: 60, concurrency: 16 }),
    outDir: OUT,
  });
  await sim.init();
  let t = sim.truth();
  const total = () => t.lines.scheduler + t.lines.worker + t.lines.task;
  while (total() < targetLines) {
    await sim.runFor(300);
    t = sim.truth();
    process.stderr.write(`\r  simulating: ${total()} lines`);
  }
  await sim.close();
  const bytes = Object.values(t.files).reduce((a, b) => a + b, 0);
  const m = { targetLines, lines: total(), bytes, files: Object.keys(t.files).length, byComponent: t.lines };
  writeFileSync(join(OUT, 'truth.json'), JSON.stringify(t));
  writeFileSync(meta, JSON.stringify(m));
  process.stderr.write(`\n  corpus built in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return m;
}

/** Run a command under GNU time; wall seconds (ours) and peak RSS (kB, from time -f %M). */
async function timed(cmd: string, argv: string[], env?: NodeJS.ProcessEnv) {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...argv], { env: env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const seconds = (performance.now() - t0) / 1000;
  const lastLine = stderr.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`);
  return { seconds, rssKb: Number(lastLine), stdout, stderr };
}

const GLOBS = ['scheduler/*.log', 'worker/*.log', 'logs/dag_id=*/run_id=*/task_id=*/attempt=*.log'].map((g) =>
  join(OUT, g),
);

interface Row {
  name: string;
  seconds: number;
  rssKb: number;
}

async function windsock(): Promise<Row & { counts: Map<string, number> }> {
  const r = await timed(process.execPath, [
    join(ROOT, 'bin/windsock.mjs'),
    'log-metrics',
    '--once',
    '--format',
    'json',
    ...GLOBS,
  ]);
  const counts = new Map<string, number>();
  for (const m of JSON.parse(r.stdout).metrics as {
    name: string;
    dimensions: Record<string, string>;
    value: number;
  }[]) {
    const key = m.dimensions.State ? `${m.name}{${m.dimensions.State}}` : m.name;
    counts.set(key, (counts.get(key) ?? 0) + m.value);
  }
  return { name: 'windsock log-metrics --once', seconds: r.seconds, rssKb: r.rssKb, counts };
}

/**
 * mtail keeps every log it reads open, so one run cannot take more files than the fd limit (20,000
 * here; the corpus has ~40,000 task logs): the task logs are split by DAG run directory into runs of
 * at most MTAIL_FILES_PER_RUN files, and their times and counts are added up.
 */
const MTAIL_FILES_PER_RUN = 10_000;

function mtailBatches(): string[][] {
  const runs = new Map<string, number>();
  for (const dag of readdirSync(join(OUT, 'logs'))) {
    for (const run of readdirSync(join(OUT, 'logs', dag))) {
      runs.set(join(OUT, 'logs', dag, run), readdirSync(join(OUT, 'logs', dag, run)).length);
    }
  }
  const batches: string[][] = [[GLOBS[0]!, GLOBS[1]!]];
  let current: string[] = [];
  let n = 0;
  for (const [dir, tasks] of runs) {
    if (n + tasks > MTAIL_FILES_PER_RUN && current.length > 0) {
      batches.push(current);
      current = [];
      n = 0;
    }
    current.push(join(dir, 'task_id=*', 'attempt=*.log'));
    n += tasks;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

async function mtail(): Promise<Row & { counts: Map<string, number> }> {
  let seconds = 0;
  let rssKb = 0;
  const raw: Record<string, { Keys?: string[]; LabelValues: { Labels?: string[]; Value: { Value: number } }[] }[]>[] =
    [];
  for (const logs of mtailBatches()) {
    const port = await freePort();
    const r = await timed('mtail', [
      '--one_shot',
      '--progs',
      MTAIL_PROGRAM,
      ...logs.flatMap((l) => ['--logs', l]),
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--logtostderr',
    ]);
    seconds += r.seconds;
    rssKb = Math.max(rssKb, r.rssKb);
    raw.push(JSON.parse(r.stdout));
  }
  const names: Record<string, string> = {
    log_errors: 'LogErrors',
    log_warnings: 'LogWarnings',
    task_state_marked: 'TaskStateMarked',
    executor_events: 'ExecutorEvents',
    task_instances_finished: 'TaskInstancesFinished',
    tasks_sent_to_executor: 'TasksSentToExecutor',
    celery_tasks_received: 'CeleryTasksReceived',
    celery_tasks_succeeded: 'CeleryTasksSucceeded',
    celery_tasks_failed: 'CeleryTasksFailed',
    celery_tasks_retried: 'CeleryTasksRetried',
    heartbeat_success: 'HeartbeatSuccess',
  };
  const counts = new Map<string, number>();
  const value = (metric: string) =>
    raw.reduce((a, run) => a + (run[metric]?.[0]?.LabelValues ?? []).reduce((b, lv) => b + lv.Value.Value, 0), 0);
  for (const run of raw) {
    for (const [m, name] of Object.entries(names)) {
      for (const lv of run[m]?.[0]?.LabelValues ?? []) {
        const state = lv.Labels?.[0];
        const key = state ? `${name}{${state.toUpperCase()}}` : name;
        counts.set(key, (counts.get(key) ?? 0) + lv.Value.Value);
      }
    }
  }
  counts.set('Tracebacks', value('tracebacks') - value('chained_tracebacks'));
  return { name: 'mtail --one_shot', seconds, rssKb, counts };
}

const GREP_MARKERS =
  'ERROR|WARNING|CRITICAL|^Traceback \\(most|Marking task as|executor event with state|TaskInstance Finished:|Sending TaskInstanceKey|\\] received$|succeeded in|raised unexpected|retry:|WINDSOCK_HEARTBEAT_OK';

async function grep(): Promise<Row & { matches: number }> {
  const r = await timed('grep', ['-rhcE', '--include=*.log', GREP_MARKERS, OUT]);
  const matches = r.stdout
    .trim()
    .split('\n')
    .reduce((a, n) => a + Number(n), 0);
  return { name: 'grep -cE (floor)', seconds: r.seconds, rssKb: r.rssKb, matches };
}

const c = await corpus();
const mb = c.bytes / 1e6;
const { stdout: version } = await run('mtail', ['--version']);
console.log(`corpus: ${c.lines} lines, ${mb.toFixed(0)} MB, ${c.files} files (simulated Airflow 2.10, seed 42)`);
console.log(`anchor: ${version.split('\n')[0]}`);

const best = new Map<string, Row>();
let ours: Awaited<ReturnType<typeof windsock>> | undefined;
let theirs: Awaited<ReturnType<typeof mtail>> | undefined;
let floor: Awaited<ReturnType<typeof grep>> | undefined;
for (let i = 0; i < runs; i++) {
  // Interleaved so both see the same page cache and machine load.
  ours = await windsock();
  theirs = await mtail();
  floor = await grep();
  for (const r of [ours, theirs, floor]) {
    const b = best.get(r.name);
    if (!b || r.seconds < b.seconds) best.set(r.name, r);
  }
}

// Same counts: every counter mtail computes must equal windsock's.
let mismatches = 0;
for (const [key, v] of theirs!.counts) {
  const w = ours!.counts.get(key) ?? 0;
  if (w !== v) {
    mismatches++;
    console.log(`  COUNT MISMATCH ${key}: windsock ${w}, mtail ${v}`);
  }
}
console.log(
  `counts: ${theirs!.counts.size} counters compared, ${mismatches} mismatches; grep matched ${floor!.matches} lines`,
);

const m = best.get('mtail --one_shot')!;
console.log('');
console.log('| tool | seconds | lines/s | MB/s | peak RSS MB | lines/s vs mtail |');
console.log('|---|---|---|---|---|---|');
for (const r of best.values()) {
  console.log(
    `| ${r.name} | ${r.seconds.toFixed(2)} | ${Math.round(c.lines / r.seconds).toLocaleString('en')} | ${(mb / r.seconds).toFixed(0)} | ${(r.rssKb / 1024).toFixed(0)} | ${(m.seconds / r.seconds).toFixed(2)}x |`,
  );
}
const w = best.get('windsock log-metrics --once')!;
console.log('');
console.log(
  `windsock vs mtail: ${(m.seconds / w.seconds).toFixed(2)}x lines/s (target >= 10x); windsock vs grep floor: ${(best.get('grep -cE (floor)')!.seconds / w.seconds).toFixed(2)}x; windsock peak RSS ${(w.rssKb / 1024).toFixed(0)} MB (target < 150 MB)`,
);
process.exitCode = mismatches === 0 ? 0 : 1;
