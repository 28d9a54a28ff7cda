/**
 * The workload a simulated cluster runs: DAGs and their tasks, queues, pools, arrival rates with
 * bursts and idle gaps, durations, failures, retries, deferrals, reschedules and mapped tasks, plus
 * the noise written into logs. Plain data, so a workload can live in a JSON file.
 */

/** A duration distribution: log-normal around `median` seconds, clamped to [min, max]. */
export interface DurationSpec {
  medianSeconds: number;
  /** Spread of the log-normal (0 = always the median). Default 0.5. */
  sigma?: number;
  minSeconds?: number;
  maxSeconds?: number;
}

/** One task of a DAG. */
export interface TaskSpec {
  taskId: string;
  /** Operator class name as Airflow records it (task_instance.operator). Default PythonOperator. */
  operator?: string;
  /** Celery queue (task_instance.queue). Default `default`. */
  queue?: string;
  /** Pool name. Default `default_pool`. */
  pool?: string;
  poolSlots?: number;
  /** task_ids that must succeed before this one is scheduled. Default: none (runs at once). */
  upstream?: string[];
  duration?: DurationSpec;
  /** Probability that an attempt fails. */
  failureRate?: number;
  /** Retries after a failure (task_instance.max_tries). */
  retries?: number;
  retryDelaySeconds?: number;
  /** Probability that an attempt defers once to the triggerer before finishing. */
  deferralRate?: number;
  deferSeconds?: number;
  /** Probability that an attempt (a sensor in reschedule mode) is rescheduled once. */
  rescheduleRate?: number;
  rescheduleSeconds?: number;
  /** Dynamic task mapping: number of mapped instances (map_index 0..n-1), fixed or a range. */
  mapped?: number | { min: number; max: number };
  priorityWeight?: number;
}

/** One DAG and how often it runs. */
export interface DagSpec {
  dagId: string;
  tasks: TaskSpec[];
  /** Mean DAG-run arrivals per hour (Poisson). */
  runsPerHour: number;
  /** DAG max_active_tasks. Default 16. */
  maxActiveTasks?: number;
  /** The windsock heartbeat DAG: its successful tasks print heartbeat tokens. */
  heartbeat?: boolean;
  /** Python file name under DAGS_FOLDER. Default `<dagId>.py`. */
  fileName?: string;
}

/** A Celery worker: a hostname, the queues it consumes and its concurrency. */
export interface WorkerSpec {
  hostname: string;
  queues: string[];
  concurrency: number;
  /** A draining worker takes no new task (cancel_consumer); its running tasks finish. */
  draining?: boolean;
}

/** A pool row (slot_pool). */
export interface PoolSpec {
  name: string;
  slots: number;
  includeDeferred?: boolean;
}

/** A repeating burst: every `everySeconds`, arrivals run `multiplier` times faster for `durationSeconds`. */
export interface BurstSpec {
  everySeconds: number;
  durationSeconds: number;
  multiplier: number;
  /** Offset of the first burst from the start. Default 0. */
  offsetSeconds?: number;
}

/** A repeating idle gap: every `everySeconds`, no DAG run arrives for `durationSeconds`. */
export interface IdleGapSpec {
  everySeconds: number;
  durationSeconds: number;
  offsetSeconds?: number;
}

/** Noise and awkward lines written into logs; all are counted in the ground truth. */
export interface NoiseSpec {
  /** Probability per task attempt of a garbage first line (counted as UnparsedLines). */
  garbageLineRate?: number;
  /** Probability per task attempt of `*** ...` UI header lines at the top (count as nothing). */
  starHeaderRate?: number;
  /** Probability per print of a WARNING record after it. */
  warningRate?: number;
  /** Probability per print of an INFO record whose continuation says `Error: ...`. */
  errorTextInInfoRate?: number;
  /** Probability that a failure's traceback is chained ("During handling of ..."). */
  chainedTracebackRate?: number;
  /** Print lines per task attempt (min..max), some multi-line with bare continuation lines. */
  printLines?: { min: number; max: number };
  /** Probability per print of a blank continuation line. */
  blankLineRate?: number;
}

/** The whole workload. */
export interface Workload {
  name: string;
  /** Virtual start instant (ISO 8601). All timestamps derive from it. */
  startTime: string;
  dags: DagSpec[];
  pools?: PoolSpec[];
  /** Workers at the start; `Simulator.setWorkers` replaces them at any virtual time. */
  workers: WorkerSpec[];
  /** `[core] parallelism` (the executor's slots). Default 32. */
  parallelism?: number;
  /** `[scheduler] max_tis_per_query`. Default 16. */
  maxTisPerQuery?: number;
  bursts?: BurstSpec[];
  idleGaps?: IdleGapSpec[];
  noise?: NoiseSpec;
  /** Probability that a Celery task fails before the task runs (the scheduler then sees a state mismatch). */
  executorFailureRate?: number;
  /** Seconds without heartbeat before a running task is a zombie. Default 300 (Airflow's default). */
  zombieThresholdSeconds?: number;
  /** kombu Redis visibility_timeout: unacked messages of dead workers return to the queue after it. Default 3600. */
  visibilityTimeoutSeconds?: number;
  /** Scheduler loop period in virtual seconds. Default 1. */
  schedulerLoopSeconds?: number;
}

const DEFAULT_NOISE: Required<NoiseSpec> = {
  garbageLineRate: 0.01,
  starHeaderRate: 0.02,
  warningRate: 0.1,
  errorTextInInfoRate: 0.05,
  chainedTracebackRate: 0.3,
  printLines: { min: 1, max: 4 },
  blankLineRate: 0.05,
};

/** A workload with every default filled in. */
export interface ResolvedWorkload extends Required<Omit<Workload, 'noise' | 'bursts' | 'idleGaps' | 'pools'>> {
  noise: Required<NoiseSpec>;
  bursts: BurstSpec[];
  idleGaps: IdleGapSpec[];
  pools: PoolSpec[];
}

/** Fills defaults and rejects a workload that cannot run, naming the field and what was expected. */
export function resolveWorkload(w: Workload): ResolvedWorkload {
  const problems: string[] = [];
  if (!w || typeof w !== 'object') throw new Error('workload: expected an object with dags and workers');
  if (!Array.isArray(w.dags) || w.dags.length === 0) problems.push('dags: expected at least one DAG');
  if (!Array.isArray(w.workers)) problems.push('workers: expected an array (may be empty)');
  if (Number.isNaN(Date.parse(w.startTime))) problems.push(`startTime: '${w.startTime}' is not an ISO 8601 instant`);
  const dagIds = new Set<string>();
  for (const [i, d] of (w.dags ?? []).entries()) {
    if (!d.dagId || !/^[\w.-]+$/.test(d.dagId)) problems.push(`dags[${i}].dagId: expected letters, digits, _ . -`);
    if (dagIds.has(d.dagId)) problems.push(`dags[${i}].dagId: '${d.dagId}' is used twice`);
    dagIds.add(d.dagId);
    if (!(d.runsPerHour >= 0)) problems.push(`dags[${i}].runsPerHour: expected a number >= 0`);
    if (!Array.isArray(d.tasks) || d.tasks.length === 0) problems.push(`dags[${i}].tasks: expected at least one task`);
    const ids = new Set((d.tasks ?? []).map((t) => t.taskId));
    for (const [j, t] of (d.tasks ?? []).entries()) {
      if (!t.taskId || !/^[\w.-]+$/.test(t.taskId)) problems.push(`dags[${i}].tasks[${j}].taskId: invalid`);
      for (const u of t.upstream ?? []) {
        if (!ids.has(u)) problems.push(`dags[${i}].tasks[${j}].upstream: unknown task '${u}'`);
      }
      for (const k of ['failureRate', 'deferralRate', 'rescheduleRate'] as const) {
        const v = t[k];
        if (v !== undefined && !(v >= 0 && v <= 1)) problems.push(`dags[${i}].tasks[${j}].${k}: expected 0..1`);
      }
    }
  }
  const hosts = new Set<string>();
  for (const [i, wk] of (w.workers ?? []).entries()) {
    if (!wk.hostname) problems.push(`workers[${i}].hostname: required`);
    if (hosts.has(wk.hostname)) problems.push(`workers[${i}].hostname: '${wk.hostname}' is used twice`);
    hosts.add(wk.hostname);
    if (!(wk.concurrency >= 1)) problems.push(`workers[${i}].concurrency: expected >= 1`);
    if (!Array.isArray(wk.queues) || wk.queues.length === 0) problems.push(`workers[${i}].queues: expected a list`);
  }
  if (problems.length > 0) throw new Error(`invalid workload '${w.name ?? '?'}':\n  ${problems.join('\n  ')}`);
  const pools = [...(w.pools ?? [])];
  return {
    name: w.name,
    startTime: w.startTime,
    dags: w.dags,
    workers: w.workers,
    pools,
    parallelism: w.parallelism ?? 32,
    maxTisPerQuery: w.maxTisPerQuery ?? 16,
    bursts: w.bursts ?? [],
    idleGaps: w.idleGaps ?? [],
    noise: { ...DEFAULT_NOISE, ...w.noise },
    executorFailureRate: w.executorFailureRate ?? 0,
    zombieThresholdSeconds: w.zombieThresholdSeconds ?? 300,
    visibilityTimeoutSeconds: w.visibilityTimeoutSeconds ?? 3600,
    schedulerLoopSeconds: w.schedulerLoopSeconds ?? 1,
  };
}

/** Mean task instances one run of the DAG creates (mapped tasks count their mean width). */
export function taskInstancesPerRun(dag: DagSpec): number {
  let n = 0;
  for (const t of dag.tasks) {
    if (t.mapped === undefined) n += 1;
    else if (typeof t.mapped === 'number') n += t.mapped;
    else n += (t.mapped.min + t.mapped.max) / 2;
  }
  return n;
}

/** Options of the named presets. */
export interface PresetOptions {
  /** Target task instances per hour (first attempts), spread over the preset's DAGs. */
  taskInstancesPerHour?: number;
  startTime?: string;
  workers?: number;
  concurrency?: number;
}

function scaleRates(dags: DagSpec[], tiPerHour: number): DagSpec[] {
  const weights = dags.map((d) => d.runsPerHour * taskInstancesPerRun(d));
  const total = weights.reduce((a, b) => a + b, 0);
  const factor = total > 0 ? tiPerHour / total : 0;
  return dags.map((d) => (d.heartbeat ? d : { ...d, runsPerHour: d.runsPerHour * factor }));
}

function workers(n: number, queues: string[], concurrency: number): WorkerSpec[] {
  return Array.from({ length: n }, (_, i) => ({ hostname: `worker-${i + 1}`, queues, concurrency }));
}

/** Constant arrivals over two queues, a few failures and retries. */
export function steadyWorkload(opts: PresetOptions = {}): Workload {
  const dags: DagSpec[] = [
    {
      dagId: 'etl_orders',
      runsPerHour: 6,
      maxActiveTasks: 64,
      tasks: [
        { taskId: 'extract', duration: { medianSeconds: 8 }, failureRate: 0.03, retries: 1, retryDelaySeconds: 30 },
        { taskId: 'transform', upstream: ['extract'], duration: { medianSeconds: 12 }, failureRate: 0.02, retries: 2 },
        { taskId: 'load', upstream: ['transform'], duration: { medianSeconds: 6 }, retries: 1, failureRate: 0.02 },
      ],
    },
    {
      dagId: 'reports_daily',
      runsPerHour: 3,
      maxActiveTasks: 64,
      tasks: [
        { taskId: 'build', queue: 'reports', duration: { medianSeconds: 20 }, failureRate: 0.05, retries: 1 },
        { taskId: 'publish', queue: 'reports', upstream: ['build'], duration: { medianSeconds: 4 } },
      ],
    },
  ];
  return {
    name: 'steady',
    startTime: opts.startTime ?? '2025-01-06T00:00:00Z',
    dags: scaleRates(dags, opts.taskInstancesPerHour ?? 1000),
    pools: [{ name: 'reports_pool', slots: 64 }],
    workers: workers(opts.workers ?? 4, ['default', 'reports'], opts.concurrency ?? 16),
    parallelism: 128,
    maxTisPerQuery: 32,
    executorFailureRate: 0.002,
  };
}

/** Bursts of ten times the base rate and idle gaps, with mapped tasks and deferrals. */
export function burstyWorkload(opts: PresetOptions = {}): Workload {
  const dags: DagSpec[] = [
    {
      dagId: 'ingest_events',
      runsPerHour: 10,
      maxActiveTasks: 64,
      tasks: [
        { taskId: 'list_files', duration: { medianSeconds: 3 } },
        {
          taskId: 'process_file',
          upstream: ['list_files'],
          mapped: { min: 2, max: 6 },
          duration: { medianSeconds: 10, sigma: 0.8 },
          failureRate: 0.04,
          retries: 2,
          retryDelaySeconds: 20,
        },
        { taskId: 'wait_for_partition', operator: 'DateTimeSensorAsync', deferralRate: 0.8, deferSeconds: 30 },
      ],
    },
  ];
  return {
    name: 'bursty',
    startTime: opts.startTime ?? '2025-01-06T00:00:00Z',
    dags: scaleRates(dags, opts.taskInstancesPerHour ?? 2000),
    workers: workers(opts.workers ?? 4, ['default'], opts.concurrency ?? 16),
    parallelism: 128,
    maxTisPerQuery: 32,
    bursts: [{ everySeconds: 600, durationSeconds: 60, multiplier: 10, offsetSeconds: 120 }],
    idleGaps: [{ everySeconds: 900, durationSeconds: 180, offsetSeconds: 600 }],
  };
}

/** Everything at once, for the demo: three queues, a pool, reschedules, deferrals, mapping, a heartbeat DAG. */
export function demoWorkload(opts: PresetOptions = {}): Workload {
  const base = steadyWorkload(opts);
  const bursty = burstyWorkload(opts);
  const dags: DagSpec[] = [
    ...base.dags,
    ...bursty.dags,
    {
      dagId: 'ml_training',
      runsPerHour: 2,
      tasks: [
        { taskId: 'wait_for_data', operator: 'S3KeySensor', rescheduleRate: 0.5, rescheduleSeconds: 20 },
        {
          taskId: 'train',
          upstream: ['wait_for_data'],
          queue: 'gpu',
          pool: 'gpu_pool',
          duration: { medianSeconds: 60, sigma: 0.3 },
          failureRate: 0.1,
          retries: 1,
        },
      ],
    },
  ];
  const scaled = scaleRates(dags, opts.taskInstancesPerHour ?? 2000);
  scaled.push({
    dagId: 'windsock_heartbeat',
    runsPerHour: 60,
    heartbeat: true,
    fileName: 'windsock_heartbeat.py',
    tasks: [
      { taskId: 'probe_default', queue: 'default', duration: { medianSeconds: 2, sigma: 0.2 } },
      { taskId: 'probe_gpu', queue: 'gpu', duration: { medianSeconds: 2, sigma: 0.2 } },
    ],
  });
  return {
    name: 'demo',
    startTime: base.startTime,
    dags: scaled,
    pools: [
      { name: 'reports_pool', slots: 64 },
      { name: 'gpu_pool', slots: 4 },
    ],
    workers: [
      ...workers(opts.workers ?? 3, ['default', 'reports'], opts.concurrency ?? 16),
      { hostname: 'gpu-worker-1', queues: ['gpu'], concurrency: 4 },
    ],
    parallelism: 128,
    maxTisPerQuery: 32,
    bursts: bursty.bursts,
    executorFailureRate: 0.003,
    zombieThresholdSeconds: 300,
  };
}

/** The named presets (`--workload steady|bursty|demo`). */
export const WORKLOAD_PRESETS: Readonly<Record<string, (opts?: PresetOptions) => Workload>> = {
  steady: steadyWorkload,
  bursty: burstyWorkload,
  demo: demoWorkload,
};
