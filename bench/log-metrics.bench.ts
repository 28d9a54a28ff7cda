/**
 * log-metrics bench: the two shapes of log users have, side by side in one run.
 *
 * - **many small files**: the simulator's Airflow 2.10 cluster (scheduler, Celery worker and ~40,000
 *   task logs in Airflow's folder layout), ~2,000,000 lines;
 * - **one big file**: the same lines concatenated into one file (scheduler, then workers, then task
 *   logs), the shape of a busy cluster's scheduler/worker log.
 *
 * On each: `windsock log-metrics --once --format json`, mtail `--one_shot` running
 * bench/log-metrics.mtail (one regex per counter: the narrowest program that computes the same
 * counters), and `grep -cE 'ERROR|WARNING'` (one pass over the bytes: the floor). On the big file
 * also the daemon (`windsock log-metrics big.log --start-position beginning`) catching up from the
 * start, timed until /status says every byte is read, and its counts (EMF) after a clean stop.
 * Then the daemon following 2,000 task logs: peak RSS after catch-up and after steady polling.
 *
 * Checks (exit code 1 when one fails): every counter windsock reports equals the simulator's ground
 * truth and mtail's (both shapes, and the daemon's). Prints the targets (>= 10x mtail's lines/s,
 * within 10x of the floor's time, peak RSS < 100 MB) with their verdicts.
 *
 *   node --import tsx bench/log-metrics.bench.ts [--lines 2000000] [--runs 3] [--rebuild]
 *   node --import tsx bench/log-metrics.bench.ts --lines 200000 --runs 1     # quick run
 *
 * Corpora are kept in bench/out/ and reused by later runs.
 */
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Simulator, steadyWorkload, type TruthMetric } from '@windsock/simulator';
import { freePort } from '../test/helpers/stack.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MTAIL_PROGRAM = join(ROOT, 'bench/log-metrics.mtail');
const CLI = join(ROOT, 'bin/windsock.mjs');
const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '2000000' },
    rebuild: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    follow: { type: 'string', default: '2000' },
  },
});
const targetLines = Number(args.lines);
const runs = Number(args.runs);
const OUT = join(
  ROOT,
  targetLines === 2_000_000 ? 'bench/out/log-metrics-corpus' : `bench/out/log-metrics-corpus-${targetLines}`,
);
const BIG = `${OUT}.big.log`;
const FOLLOW = `${OUT}.follow`;

interface Corpus {
  targetLines: number;
  lines: number;
  bytes: number;
  files: number;
}

/** The corpus: simulate until the logs hold `targetLines` lines (kept between runs). */
async function corpus(): Promise<Corpus> {
  const meta = join(OUT, 'corpus.json');
  if (!args.rebuild && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8'));
    if (m.targetLines === targetLines) return m;
  }
  rmSync(OUT, { recursive: true, force: true });
  rmSync(BIG, { force: true });
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

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.name.endsWith('.log')) yield p;
  }
}

/**
 * The big file: every line of the corpus in one file (scheduler, workers, then task logs), each
 * file followed by a blank line so that a file's first lines do not join the record the previous
 * file left open (a blank line ends a multi-line message; it counts as nothing): the simulator's
 * ground truth then holds for the big file too. It has `c.lines + c.files` lines.
 */
async function bigFile(c: Corpus): Promise<void> {
  if (existsSync(BIG) && statSync(BIG).size === c.bytes + c.files) return;
  const out = createWriteStream(`${BIG}.tmp`);
  for (const dir of ['scheduler', 'worker', 'logs']) {
    for (const f of walk(join(OUT, dir))) {
      out.write(readFileSync(f));
      if (!out.write('\n')) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  await new Promise<void>((r) => out.end(() => r()));
  await run('mv', [`${BIG}.tmp`, BIG]);
}

/** `follow` task logs copied into one folder, for the daemon-following-many-files figure. */
function followFiles(n: number): number {
  if (existsSync(FOLLOW) && readdirSync(FOLLOW).length === n) return n;
  rmSync(FOLLOW, { recursive: true, force: true });
  mkdirSync(FOLLOW, { recursive: true });
  let i = 0;
  for (const f of walk(join(OUT, 'logs'))) {
    if (i >= n) break;
    copyFileSync(f, join(FOLLOW, `task-${String(i++).padStart(5, '0')}.log`));
  }
  return i;
}

/** Ground truth as name{State} sums over every other dimension. */
function truthCounts(): Map<string, number> {
  const t = JSON.parse(readFileSync(join(OUT, 'truth.json'), 'utf8')) as { metrics: TruthMetric[] };
  const out = new Map<string, number>();
  for (const m of t.metrics) {
    const key = m.dimensions.State ? `${m.name}{${m.dimensions.State}}` : m.name;
    out.set(key, (out.get(key) ?? 0) + m.value);
  }
  return out;
}

/** Run a command under GNU time; wall seconds (ours), peak RSS (kB, time -f %M), CPU seconds. */
async function timed(cmd: string, argv: string[], env?: NodeJS.ProcessEnv) {
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M %U %S', cmd, ...argv], { env: env ?? process.env });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const seconds = (performance.now() - t0) / 1000;
  const [rss, user, sys] = (stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  if (code !== 0 && !(cmd === 'grep' && code === 1)) throw new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`);
  return { seconds, rssKb: rss ?? 0, cpu: (user ?? 0) + (sys ?? 0), stdout: Buffer.concat(out).toString() };
}

interface Row {
  tool: string;
  seconds: number;
  cpu: number;
  rssKb: number;
  counts?: Map<string, number>;
}

function snapshotCounts(stdout: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of JSON.parse(stdout).metrics as { name: string; dimensions: Record<string, string>; value: number }[]) {
    const key = m.dimensions.State ? `${m.name}{${m.dimensions.State}}` : m.name;
    counts.set(key, (counts.get(key) ?? 0) + m.value);
  }
  return counts;
}

async function windsock(paths: string[]): Promise<Row> {
  const r = await timed(process.execPath, [CLI, 'log-metrics', '--once', '--format', 'json', ...paths]);
  return {
    tool: 'windsock log-metrics --once',
    seconds: r.seconds,
    cpu: r.cpu,
    rssKb: r.rssKb,
    counts: snapshotCounts(r.stdout),
  };
}

/**
 * mtail keeps every log it reads open, so one run cannot take more files than the fd limit: the task
 * logs are split by DAG run directory into runs of at most MTAIL_FILES_PER_RUN files, and their
 * times and counts are added up.
 */
const MTAIL_FILES_PER_RUN = 10_000;

function mtailBatches(): string[][] {
  const byRun = new Map<string, number>();
  for (const dag of readdirSync(join(OUT, 'logs'))) {
    for (const r of readdirSync(join(OUT, 'logs', dag)))
      byRun.set(join(OUT, 'logs', dag, r), readdirSync(join(OUT, 'logs', dag, r)).length);
  }
  const batches: string[][] = [[join(OUT, 'scheduler/*.log'), join(OUT, 'worker/*.log')]];
  let current: string[] = [];
  let n = 0;
  for (const [dir, tasks] of byRun) {
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

const MTAIL_NAMES: Record<string, string> = {
  log_errors: 'LogErrors',
  log_warnings: 'LogWarnings',
  task_state_marked: 'TaskStateMarked',
  executor_events: 'ExecutorEvents',
  task_instances_finished: 'TaskInstancesFinished',
  tasks_sent_to_executor: 'TasksSentToExecutor',
  tasks_queued: 'TasksQueued',
  celery_tasks_received: 'CeleryTasksReceived',
  celery_tasks_succeeded: 'CeleryTasksSucceeded',
  celery_tasks_failed: 'CeleryTasksFailed',
  celery_tasks_retried: 'CeleryTasksRetried',
  heartbeat_success: 'HeartbeatSuccess',
};

type MtailJson = Record<string, { LabelValues?: { Labels?: string[]; Value: { Value: number } }[] }[]>;

async function mtail(batches: string[][]): Promise<Row> {
  let seconds = 0;
  let cpu = 0;
  let rssKb = 0;
  const counts = new Map<string, number>();
  const add = (k: string, v: number) => counts.set(k, (counts.get(k) ?? 0) + v);
  for (const logs of batches) {
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
    cpu += r.cpu;
    rssKb = Math.max(rssKb, r.rssKb);
    const raw = JSON.parse(r.stdout) as MtailJson;
    const value = (metric: string) => (raw[metric]?.[0]?.LabelValues ?? []).reduce((b, lv) => b + lv.Value.Value, 0);
    for (const [m, name] of Object.entries(MTAIL_NAMES)) {
      for (const lv of raw[m]?.[0]?.LabelValues ?? []) {
        const state = lv.Labels?.[0];
        add(state ? `${name}{${state.toUpperCase()}}` : name, lv.Value.Value);
      }
    }
    add('Tracebacks', value('tracebacks') - value('chained_tracebacks'));
  }
  return { tool: 'mtail --one_shot', seconds, cpu, rssKb, counts };
}

/** The floor: one pass over the bytes, matching the level words. */
async function grep(paths: string[], recursive: boolean): Promise<Row> {
  const r = await timed(
    'grep',
    recursive ? ['-rhcE', '--include=*.log', 'ERROR|WARNING', ...paths] : ['-cE', 'ERROR|WARNING', ...paths],
  );
  return { tool: "grep -cE 'ERROR|WARNING' (floor)", seconds: r.seconds, cpu: r.cpu, rssKb: r.rssKb };
}

function peakRssKb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** EMF lines -> name{State} sums. */
function emfCounts(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  if (!existsSync(path)) return counts;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const { Name } of doc._aws.CloudWatchMetrics[0]!.Metrics) {
      const v = doc[Name];
      const n = Array.isArray(v) ? v.reduce((a: number, b: number) => a + b, 0) : Number(v);
      const key = typeof doc.State === 'string' ? `${Name}{${doc.State}}` : Name;
      counts.set(key, (counts.get(key) ?? 0) + n);
    }
  }
  return counts;
}

/**
 * The daemon on `paths` from their first byte: wall seconds from spawn until /status says `lines`
 * lines were read, peak RSS then, and (after `settleMs` more of steady polling) again; its counts
 * from the EMF file after a clean stop (SIGTERM counts the open records and flushes).
 */
async function daemon(paths: string[], lines: number, settleMs = 0) {
  const state = `${OUT}.state`;
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const emf = join(state, 'emf.log');
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      CLI,
      'log-metrics',
      '--start-position',
      'beginning',
      '--state-dir',
      state,
      '--sinks',
      'emf',
      '--flush-interval',
      '3600',
      ...paths,
    ],
    {
      env: { ...process.env, WINDSOCK_HTTP__PORT: String(port), WINDSOCK_METRICS__EMF_PATH: emf },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  let seconds = 0;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${stderr.slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/status`);
      const s = (await res.json()) as { services?: Record<string, { files?: { linesRead: number } }> } & Record<
        string,
        unknown
      >;
      const read = JSON.stringify(s).match(/"linesRead":(\d+)/);
      if (read && Number(read[1]) >= lines) {
        seconds = (performance.now() - t0) / 1000;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const caughtUpRssKb = peakRssKb(child.pid!);
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const steadyRssKb = peakRssKb(child.pid!);
  child.kill('SIGTERM');
  await exited;
  return { seconds, caughtUpRssKb, steadyRssKb, counts: emfCounts(emf) };
}

/** Counters that differ between `a` and `b` (only those `b` has, when `onlyB`). */
function mismatches(label: string, a: Map<string, number>, b: Map<string, number>, onlyB = false): number {
  let n = 0;
  const keys = onlyB ? new Set(b.keys()) : new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) {
    if ((a.get(k) ?? 0) !== (b.get(k) ?? 0)) {
      n++;
      console.log(`  COUNT MISMATCH ${label} ${k}: ${a.get(k) ?? 0} vs ${b.get(k) ?? 0}`);
    }
  }
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

// ---------------------------------------------------------------------------------------------
const c = await corpus();
await bigFile(c);
const nFollow = followFiles(Number(args.follow));
const followLines = readdirSync(FOLLOW).reduce(
  (a, f) => a + readFileSync(join(FOLLOW, f)).toString('latin1').split('\n').length - 1,
  0,
);
const mb = c.bytes / 1e6;
const { stdout: version } = await run('mtail', ['--version']);
const truth = truthCounts();
console.log(`corpus: ${c.lines} lines, ${mb.toFixed(0)} MB (simulated Airflow 2.10, seed 42)`);
console.log(`  small files: ${c.files} files under ${OUT}; big file: ${BIG} (the same lines, one file)`);
console.log(`anchor: ${version.split('\n')[0]}; ${runs} interleaved run(s), median and best of each`);

const smallPaths = ['scheduler/*.log', 'worker/*.log', 'logs/dag_id=*/run_id=*/task_id=*/attempt=*.log'].map((g) =>
  join(OUT, g),
);
const shapes = [
  {
    name: 'small files',
    lines: c.lines,
    ours: () => windsock(smallPaths),
    theirs: () => mtail(mtailBatches()),
    floor: () => grep([OUT], true),
  },
  {
    name: 'big file',
    lines: c.lines + c.files,
    ours: () => windsock([BIG]),
    theirs: () => mtail([[BIG]]),
    floor: () => grep([BIG], false),
  },
];

let failures = 0;
const results: Record<string, Record<string, Row[]>> = {};
const catchUp: { seconds: number; rssKb: number }[] = [];
for (let i = 0; i < runs; i++) {
  // Interleaved so every tool sees the same page cache and machine load.
  for (const shape of shapes) {
    for (const f of [shape.ours, shape.theirs, shape.floor]) {
      const r = await f();
      const byTool = results[shape.name] ?? {};
      results[shape.name] = byTool;
      byTool[r.tool] = [...(byTool[r.tool] ?? []), r];
    }
  }
  const d = await daemon([BIG], c.lines + c.files);
  catchUp.push({ seconds: d.seconds, rssKb: d.caughtUpRssKb });
  if (i === 0) failures += mismatches('daemon(big) vs truth', d.counts, truth);
}
const follow = await daemon([join(FOLLOW, '*.log')], followLines, 5000);

// Same counts: windsock = truth (every counter either names), and = mtail (every counter mtail computes).
for (const shape of shapes) {
  const rows = results[shape.name]!;
  const ours = rows['windsock log-metrics --once']![0]!.counts!;
  const theirs = rows['mtail --one_shot']![0]!.counts!;
  const a = mismatches(`${shape.name}: windsock vs truth`, ours, truth);
  const b = mismatches(`${shape.name}: windsock vs mtail`, ours, theirs, true);
  console.log(
    `${shape.name}: ${truth.size} truth counters and ${theirs.size} mtail counters compared, ${a + b} mismatches`,
  );
  failures += a + b;
}

console.log('');
console.log(
  '| shape | tool | seconds (median / best) | CPU s | lines/s (median) | peak RSS MB | lines/s vs mtail | time vs floor |',
);
console.log('|---|---|---|---|---|---|---|---|');
const verdicts: string[] = [];
for (const shape of shapes) {
  const rows = results[shape.name]!;
  const t = (tool: string) => median(rows[tool]!.map((r) => r.seconds));
  const m = t('mtail --one_shot');
  const g = t("grep -cE 'ERROR|WARNING' (floor)");
  for (const [tool, rs] of Object.entries(rows)) {
    const s = median(rs.map((r) => r.seconds));
    console.log(
      `| ${shape.name} | ${tool} | ${s.toFixed(2)} / ${Math.min(...rs.map((r) => r.seconds)).toFixed(2)} | ${median(rs.map((r) => r.cpu)).toFixed(2)} | ${Math.round(shape.lines / s).toLocaleString('en')} | ${(Math.max(...rs.map((r) => r.rssKb)) / 1024).toFixed(0)} | ${(m / s).toFixed(2)}x | ${(s / g).toFixed(1)}x |`,
    );
  }
  const w = rows['windsock log-metrics --once']!;
  const ws = median(w.map((r) => r.seconds));
  const rss = Math.max(...w.map((r) => r.rssKb)) / 1024;
  verdicts.push(
    `${shape.name}: ${(m / ws).toFixed(1)}x mtail (>= 10x: ${m / ws >= 10 ? 'met' : 'NOT met'}), ${(ws / g).toFixed(1)}x the floor's time (<= 10x: ${ws / g <= 10 ? 'met' : 'NOT met'}), peak RSS ${rss.toFixed(0)} MB (< 100: ${rss < 100 ? 'met' : 'NOT met'})`,
  );
}
const cu = median(catchUp.map((x) => x.seconds));
const cuRss = Math.max(...catchUp.map((x) => x.rssKb)) / 1024;
const mBig = median(results['big file']!['mtail --one_shot']!.map((r) => r.seconds));
console.log(
  `| big file | windsock log-metrics (daemon) catch-up from byte 0 | ${cu.toFixed(2)} / ${Math.min(...catchUp.map((x) => x.seconds)).toFixed(2)} | | ${Math.round((c.lines + c.files) / cu).toLocaleString('en')} | ${cuRss.toFixed(0)} | ${(mBig / cu).toFixed(2)}x | |`,
);
console.log('');
for (const v of verdicts) console.log(v);
console.log(
  `daemon catch-up on the big file: ${Math.round((c.lines + c.files) / cu).toLocaleString('en')} lines/s (spawn to last line read), peak RSS ${cuRss.toFixed(0)} MB (< 100: ${cuRss < 100 ? 'met' : 'NOT met'})`,
);
console.log(
  `daemon following ${nFollow} files (${followLines} lines): caught up in ${follow.seconds.toFixed(2)} s, peak RSS ${(follow.caughtUpRssKb / 1024).toFixed(0)} MB, ${(follow.steadyRssKb / 1024).toFixed(0)} MB after 5 s more of polling (< 100: ${follow.steadyRssKb / 1024 < 100 ? 'met' : 'NOT met'})`,
);
console.log(failures === 0 ? 'counts: all equal' : `counts: ${failures} MISMATCHES`);
process.exitCode = failures === 0 ? 0 : 1;
