/**
 * A deterministic Airflow + Celery cluster on a virtual clock. A discrete-event loop moves task
 * instances through Airflow's states; at every virtual second (a tick) the logs are appended, the
 * metadb is updated in one transaction and the Redis broker in one pipeline, so after each tick
 * PostgreSQL, Redis, the log files and the ground truth all describe the same instant.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_POOL_SLOTS, loadAirflowSchema, TERMINAL_TASK_STATES } from '@windsock/airflow';
import { Redis } from 'ioredis';
import pg from 'pg';
import { commandList, pyStrList } from './airflow-repr.ts';
import { bindingKey, celeryMessage, UNACKED_INDEX_KEY, UNACKED_KEY, unackedValue } from './broker-format.ts';
import { EventQueue } from './event-queue.ts';
import { renderDefaultLogPath } from './log-path.ts';
import { LogSink } from './log-sink.ts';
import { Airflow2Logs, CELERY_TASK_NAME_2 } from './logs/airflow2.ts';
import { Airflow3Logs, CELERY_TASK_NAME_3 } from './logs/airflow3.ts';
import { type AttemptEnd, type ClusterLogWriter, SCHEDULER_LOG, TASK_LOG_DIR, workerLogRel } from './logs/writer.ts';
import { type JobRow, MetadbWriter, type TriggerRow } from './metadb-writer.ts';
import {
  ACTIVE_STATES,
  type AttemptModel,
  type AttemptOutcome,
  type RunModel,
  type TiModel,
  type TiStateName,
  type WorkerModel,
} from './model.ts';
import { Prng } from './prng.ts';
import { isoMicrosZ, parseInstant, pyIsoformat, US } from './time-format.ts';
import { TruthCounters } from './truth.ts';
import type { DepthSnapshot, GroundTruth, KilledTask } from './truth-report.ts';
import {
  type DagSpec,
  type ResolvedWorkload,
  resolveWorkload,
  type TaskSpec,
  WORKLOAD_PRESETS,
  type WorkerSpec,
  type Workload,
} from './workload.ts';

/** The Airflow schema/log version the simulator plays. */
export type SimulatedAirflowVersion = '2.10' | '3';

/** Options of {@link Simulator}. */
export interface SimulatorOptions {
  version: SimulatedAirflowVersion;
  seed: number;
  /** A workload object or a preset name (`steady`, `bursty`, `demo`). */
  workload: Workload | string;
  /** Output folder: `scheduler/`, `worker/` and `logs/` (the base log folder) are written here. */
  outDir: string;
  /** PostgreSQL to drive; without it no metadb is written (logs and truth only). */
  databaseUrl?: string;
  /** Redis to drive as the Celery broker; without it no broker data is written. */
  redisUrl?: string;
  /** Virtual seconds per wall-clock second; default Infinity (as fast as possible). */
  speed?: number;
  /** Empty the output folder's simulator files, the simulator's tables and broker keys first. */
  reset?: boolean;
}

const TICK_US = US;
const TERMINAL = new Set<TiStateName>(TERMINAL_TASK_STATES);
const HEARTBEAT_US = 5 * US;
const TASK_QUEUED_TIMEOUT_US = 600 * US;

type Ev =
  | { k: 'arrival'; dag: number }
  | { k: 'sched' }
  | { k: 'poll' }
  | { k: 'start'; a: AttemptModel }
  | { k: 'print'; a: AttemptModel; i: number }
  | { k: 'end'; a: AttemptModel }
  | { k: 'hb' }
  | { k: 'restore'; a: AttemptModel };

interface ExecutorEvent {
  ti: TiModel;
  attempt: AttemptModel;
  tryNumber: number;
  state: 'queued' | 'success' | 'failed';
}

type RedisOp = [string, ...(string | number)[]];

/** The simulator. */
export class Simulator {
  readonly version: SimulatedAirflowVersion;
  readonly seed: number;
  readonly workload: ResolvedWorkload;
  readonly outDir: string;
  private readonly opts: SimulatorOptions;
  private readonly rng: Prng;
  private readonly logRng: Prng;
  private readonly truthCounters = new TruthCounters();
  private readonly sink: LogSink;
  private readonly logs: ClusterLogWriter;
  private readonly events = new EventQueue<Ev>();

  readonly startUs: number;
  private nowUs: number;
  private initialized = false;
  private closed = false;

  private db: pg.Client | null = null;
  private metadb: MetadbWriter | null = null;
  private redis: Redis | null = null;

  private nextRunId = 1;
  private nextJobId = 1;
  private nextTriggerId = 1;
  private tiSeq = 0;
  private schedulerJob!: JobRow;
  private readonly lastLogicalUs = new Map<string, number>();
  private readonly pools = new Map<string, { slots: number; includeDeferred: boolean }>();
  private readonly knownQueues = new Set<string>();

  private readonly active = new Set<TiModel>();
  private readonly workers = new Map<string, WorkerModel>();
  private readonly broker = new Map<string, AttemptModel[]>();
  private readonly unacked = new Map<string, AttemptModel>();
  private readonly jobs = new Map<number, JobRow>();
  private executorOccupied = 0;
  private executorEvents: ExecutorEvent[] = [];
  private pollAt = Number.POSITIVE_INFINITY;
  private pollRotation = 0;

  private dirtyTis = new Set<TiModel>();
  private dirtyRuns = new Set<RunModel>();
  private dirtyJobs = new Set<JobRow>();
  private newTriggers: TriggerRow[] = [];
  private deletedTriggers: number[] = [];
  private redisOps: RedisOp[] = [];

  private readonly killed: KilledTask[] = [];
  private readonly snapshots: DepthSnapshot[] = [];
  private readonly totals = { dagRuns: 0, taskInstances: 0, attempts: 0, redelivered: 0, zombies: 0 };
  private wallStartMs = 0;
  private virtualAtWallStartUs = 0;

  constructor(opts: SimulatorOptions) {
    if (opts.version !== '2.10' && opts.version !== '3') {
      throw new Error(`version: expected '2.10' or '3', got '${String(opts.version)}'`);
    }
    if (!Number.isInteger(opts.seed)) throw new Error(`seed: expected an integer, got '${String(opts.seed)}'`);
    this.opts = opts;
    this.version = opts.version;
    this.seed = opts.seed;
    this.outDir = opts.outDir;
    this.workload = resolveWorkload(typeof opts.workload === 'string' ? presetWorkload(opts.workload) : opts.workload);
    this.rng = new Prng(opts.seed);
    this.logRng = new Prng((opts.seed ^ 0x5bd1e995) >>> 0);
    this.startUs = parseInstant(this.workload.startTime, 'workload.startTime');
    this.nowUs = this.startUs;
    this.sink = new LogSink(opts.outDir, this.truthCounters);
    const ctx = {
      sink: this.sink,
      truth: this.truthCounters,
      rng: this.logRng,
      workload: this.workload,
      scheduler: { rel: SCHEDULER_LOG, component: 'scheduler' as const },
    };
    this.logs = this.version === '2.10' ? new Airflow2Logs(ctx) : new Airflow3Logs(ctx);
    this.pools.set('default_pool', { slots: DEFAULT_POOL_SLOTS, includeDeferred: false });
    for (const p of this.workload.pools)
      this.pools.set(p.name, { slots: p.slots, includeDeferred: !!p.includeDeferred });
    for (const d of this.workload.dags) {
      for (const t of d.tasks) {
        const pool = t.pool ?? 'default_pool';
        if (!this.pools.has(pool)) {
          throw new Error(`workload: task ${d.dagId}.${t.taskId} uses pool '${pool}', which is not in workload.pools`);
        }
        this.knownQueues.add(t.queue ?? 'default');
      }
    }
    for (const w of this.workload.workers) for (const q of w.queues) this.knownQueues.add(q);
  }

  /** The current virtual time (ISO 8601). */
  get now(): string {
    return isoMicrosZ(this.nowUs);
  }

  /** The current virtual time in microseconds since the epoch. */
  get nowMicros(): number {
    return this.nowUs;
  }

  /** Connects, loads Airflow's schema when the database is empty, seeds rows and starts the cluster. */
  async init(): Promise<void> {
    if (this.initialized) return;
    this.prepareOutDir();
    if (this.opts.databaseUrl) await this.initDatabase(this.opts.databaseUrl);
    if (this.opts.redisUrl) await this.initRedis(this.opts.redisUrl);
    this.schedulerJob = {
      id: this.nextJobId++,
      dagId: null,
      state: 'running',
      jobType: 'SchedulerJob',
      startUs: this.nowUs,
      endUs: null,
      heartbeatUs: this.nowUs,
      hostname: 'scheduler',
    };
    this.jobs.set(this.schedulerJob.id, this.schedulerJob);
    this.dirtyJobs.add(this.schedulerJob);
    this.logs.schedulerStarted(this.nowUs, this.schedulerJob.id);
    this.applyWorkers(this.workload.workers);
    for (let i = 0; i < this.workload.dags.length; i++) this.scheduleArrival(i, this.nowUs);
    this.events.push(this.nowUs + 500_000, { k: 'sched' });
    this.events.push(this.nowUs + HEARTBEAT_US, { k: 'hb' });
    await this.flush();
    this.initialized = true;
  }

  private prepareOutDir(): void {
    mkdirSync(this.outDir, { recursive: true });
    const mine = ['scheduler', 'worker', TASK_LOG_DIR, 'truth.json'];
    const present = readdirSync(this.outDir).filter((n) => mine.includes(n));
    if (present.length > 0) {
      if (!this.opts.reset) {
        throw new Error(
          `output folder ${this.outDir} already holds simulator output (${present.join(', ')}); ` +
            'use an empty folder or pass reset: true (--reset) to replace it',
        );
      }
      for (const n of present) rmSync(join(this.outDir, n), { recursive: true, force: true });
    }
  }

  private async initDatabase(url: string): Promise<void> {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    this.db = db;
    const exists = await db.query<{ reg: string | null }>("SELECT to_regclass('task_instance')::text AS reg");
    if (!exists.rows[0]?.reg) {
      await loadAirflowSchema(db, this.version);
    } else {
      const col = await db.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'task_instance' AND column_name = 'job_id'",
      );
      const is2 = col.rows.length > 0;
      if (is2 !== (this.version === '2.10')) {
        throw new Error(
          `the database already holds an Airflow ${is2 ? '2.x' : '3.x'} schema but the simulator was asked for ` +
            `${this.version}; use an empty database or the matching --airflow-version`,
        );
      }
      const dagIds = this.workload.dags.map((d) => d.dagId);
      const used = await db.query('SELECT 1 FROM dag_run WHERE dag_id = ANY($1::text[]) LIMIT 1', [dagIds]);
      if (used.rows.length > 0) {
        if (!this.opts.reset) {
          throw new Error(
            'the database already holds DAG runs of this workload; use an empty database or pass reset: true ' +
              "(--reset) to delete the workload's rows first",
          );
        }
        await db.query('DELETE FROM task_instance WHERE dag_id = ANY($1::text[])', [dagIds]);
        await db.query('DELETE FROM dag_run WHERE dag_id = ANY($1::text[])', [dagIds]);
      }
    }
    const ids = await db.query<{ job: number | null; run: number | null; trig: number | null; lt: number | null }>(
      `SELECT (SELECT max(id) FROM job) AS job, (SELECT max(id) FROM dag_run) AS run,
              (SELECT max(id) FROM trigger) AS trig, (SELECT max(id) FROM log_template) AS lt`,
    );
    const r = ids.rows[0];
    this.nextJobId = (r?.job ?? 0) + 1;
    this.nextRunId = (r?.run ?? 0) + 1;
    this.nextTriggerId = (r?.trig ?? 0) + 1;
    const logTemplateId = r?.lt ?? null;
    if (logTemplateId === null) throw new Error('log_template is empty: the metadb was not initialised by Airflow');
    const dagVersionIds = new Map<string, string>();
    await db.query('BEGIN');
    for (const p of [...this.pools.entries()]) {
      await db.query(
        `INSERT INTO slot_pool (pool, slots, description, include_deferred) VALUES ($1, $2, $3, $4)
         ON CONFLICT (pool) DO UPDATE SET slots = EXCLUDED.slots, include_deferred = EXCLUDED.include_deferred`,
        [p[0], p[1].slots, p[0] === 'default_pool' ? 'Default pool' : 'simulated pool', p[1].includeDeferred],
      );
    }
    if (this.version === '3') {
      await db.query(
        `INSERT INTO dag_bundle (name, active, version, last_refreshed) VALUES ('dags-folder', true, NULL, $1)
         ON CONFLICT (name) DO NOTHING`,
        [isoMicrosZ(this.nowUs)],
      );
    }
    for (const d of this.workload.dags) {
      const file = `/opt/airflow/dags/${d.fileName ?? `${d.dagId}.py`}`;
      if (this.version === '2.10') {
        await db.query(
          `INSERT INTO dag (dag_id, is_paused, is_subdag, is_active, fileloc, owners, max_active_tasks,
             max_active_runs, max_consecutive_failed_dag_runs, has_task_concurrency_limits, last_parsed_time)
           VALUES ($1, false, false, true, $2, 'airflow', $3, 16, 0, false, $4) ON CONFLICT (dag_id) DO NOTHING`,
          [d.dagId, file, d.maxActiveTasks ?? 16, isoMicrosZ(this.nowUs)],
        );
      } else {
        await db.query(
          `INSERT INTO dag (dag_id, is_paused, is_stale, fileloc, relative_fileloc, bundle_name, owners,
             max_active_tasks, max_active_runs, max_consecutive_failed_dag_runs, has_task_concurrency_limits,
             last_parsed_time)
           VALUES ($1, false, false, $2, $3, 'dags-folder', 'airflow', $4, 16, 0, false, $5)
           ON CONFLICT (dag_id) DO NOTHING`,
          [d.dagId, file, d.fileName ?? `${d.dagId}.py`, d.maxActiveTasks ?? 16, isoMicrosZ(this.nowUs)],
        );
        const existing = await db.query<{ id: string }>(
          'SELECT id::text AS id FROM dag_version WHERE dag_id = $1 ORDER BY version_number DESC LIMIT 1',
          [d.dagId],
        );
        let id = existing.rows[0]?.id;
        if (!id) {
          id = this.rng.uuid7(this.nowUs / 1000);
          await db.query(
            `INSERT INTO dag_version (id, version_number, dag_id, bundle_name, created_at, last_updated)
             VALUES ($1, 1, $2, 'dags-folder', $3, $3)`,
            [id, d.dagId, isoMicrosZ(this.nowUs)],
          );
        }
        dagVersionIds.set(d.dagId, id);
      }
    }
    await db.query('COMMIT');
    this.metadb = new MetadbWriter(db, this.version, logTemplateId, dagVersionIds);
  }

  private async initRedis(url: string): Promise<void> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    this.redis = redis;
    const queues = [...this.knownQueues].sort();
    if (this.opts.reset) await redis.del(...queues, UNACKED_KEY, UNACKED_INDEX_KEY);
    const pipe = redis.pipeline();
    for (const q of queues) {
      const b = bindingKey(q);
      pipe.sadd(b.key, b.member);
      pipe.sadd('_kombu.binding.celery.pidbox', '\x06\x16\x06\x16celery.pidbox');
    }
    await pipe.exec();
  }

  // ---------------------------------------------------------------- public API

  /** Advances the virtual clock by `virtualSeconds` (whole ticks). */
  async runFor(virtualSeconds: number): Promise<void> {
    if (!(virtualSeconds >= 0)) throw new Error(`runFor: expected seconds >= 0, got ${virtualSeconds}`);
    await this.ensureInit();
    const target = this.nowUs + Math.round(virtualSeconds * US);
    this.wallStartMs = performance.now();
    this.virtualAtWallStartUs = this.nowUs;
    while (this.nowUs + TICK_US <= target) await this.tick();
  }

  /** Advances one tick (one virtual second). */
  async step(): Promise<void> {
    await this.ensureInit();
    this.wallStartMs = performance.now();
    this.virtualAtWallStartUs = this.nowUs;
    await this.tick();
  }

  /**
   * Replaces the worker set at the current virtual time. New hostnames start (and log their start-up);
   * a hostname that disappears is killed at once: its running tasks become killed tasks, which the
   * scheduler later fails or retries as zombies. `draining: true` keeps a worker alive without new work.
   */
  setWorkers(workers: WorkerSpec[]): void {
    if (!this.initialized) throw new Error('setWorkers: call init() first');
    resolveWorkload({ ...this.workload, workers });
    this.applyWorkers(workers);
  }

  /** The worker set now. */
  currentWorkers(): WorkerSpec[] {
    return [...this.workers.values()].map((w) => ({ ...w.spec, queues: [...w.spec.queues] }));
  }

  /** Ground truth now: counters, depth, broker, killed tasks, bytes per file. */
  truth(): GroundTruth {
    const files: Record<string, number> = {};
    for (const rel of [...this.sink.bytes.keys()].sort()) files[rel] = this.sink.bytes.get(rel) ?? 0;
    return {
      version: this.version,
      seed: this.seed,
      workload: this.workload.name,
      startTime: isoMicrosZ(this.startUs),
      now: isoMicrosZ(this.nowUs),
      virtualSeconds: (this.nowUs - this.startUs) / US,
      metrics: this.truthCounters.list(),
      depth: this.snapshot(),
      tasksKilled: this.killed.length,
      killedTasks: this.killed.map((k) => ({ ...k })),
      files,
      lines: { ...this.sink.linesByComponent },
      totals: { ...this.totals },
      workers: this.currentWorkers().map((w) => w.hostname),
    };
  }

  /** The depth snapshot taken at the last tick at or before `isoOrMicros` (kept for the whole run). */
  snapshotAt(isoOrMicros: string | number): DepthSnapshot {
    const t = typeof isoOrMicros === 'number' ? isoOrMicros : parseInstant(isoOrMicros, 'snapshotAt');
    let lo = 0;
    let hi = this.snapshots.length - 1;
    let found: DepthSnapshot | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.snapshots[mid]!;
      if (s.atMicros <= t) {
        found = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (!found) throw new Error(`snapshotAt: ${isoMicrosZ(t)} is before the simulation started`);
    return found;
  }

  /** Stops: marks the scheduler job finished, flushes and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.initialized) {
      this.schedulerJob.state = 'success';
      this.schedulerJob.endUs = this.nowUs;
      this.dirtyJobs.add(this.schedulerJob);
      await this.flush().catch(() => undefined);
    }
    await this.db?.end().catch(() => undefined);
    this.redis?.disconnect();
  }

  private async ensureInit(): Promise<void> {
    if (this.closed) throw new Error('the simulator is closed');
    if (!this.initialized) await this.init();
  }

  // ---------------------------------------------------------------- the loop

  private async tick(): Promise<void> {
    const end = this.nowUs + TICK_US;
    while (this.events.peekTime() <= end) {
      const e = this.events.pop()!;
      this.handle(e.t, e.v);
    }
    this.nowUs = end;
    await this.flush();
    this.snapshots.push(this.snapshot());
    const speed = this.opts.speed ?? Number.POSITIVE_INFINITY;
    if (Number.isFinite(speed) && speed > 0) {
      const dueMs = this.wallStartMs + (this.nowUs - this.virtualAtWallStartUs) / 1000 / speed;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
    }
  }

  private handle(t: number, e: Ev): void {
    switch (e.k) {
      case 'arrival':
        this.onArrival(t, e.dag);
        return;
      case 'sched':
        this.onSchedulerLoop(t);
        return;
      case 'poll':
        this.onPoll(t);
        return;
      case 'start':
        this.onStart(t, e.a);
        return;
      case 'print':
        if (!e.a.killed) this.logs.taskPrint(t, e.a, e.i);
        return;
      case 'end':
        this.onEnd(t, e.a);
        return;
      case 'hb':
        this.onHeartbeat(t);
        return;
      case 'restore':
        this.onRestore(t, e.a);
        return;
    }
  }

  private async flush(): Promise<void> {
    this.sink.flush();
    if (this.metadb) {
      await this.metadb.apply({
        runs: [...this.dirtyRuns],
        tis: [...this.dirtyTis],
        jobs: [...this.dirtyJobs],
        newTriggers: this.newTriggers,
        deletedTriggerIds: this.deletedTriggers,
      });
    }
    this.dirtyRuns = new Set();
    this.dirtyTis = new Set();
    this.dirtyJobs = new Set();
    this.newTriggers = [];
    this.deletedTriggers = [];
    if (this.redis && this.redisOps.length > 0) {
      const results = await this.redis.pipeline(this.redisOps).exec();
      for (const [err] of results ?? []) if (err) throw err;
    }
    this.redisOps = [];
  }

  // ---------------------------------------------------------------- arrivals

  private rateAt(dag: DagSpec, t: number): number {
    const sec = (t - this.startUs) / US;
    for (const g of this.workload.idleGaps) {
      const rel = sec - (g.offsetSeconds ?? 0);
      if (rel >= 0 && rel % g.everySeconds < g.durationSeconds) return 0;
    }
    let rate = dag.runsPerHour;
    for (const b of this.workload.bursts) {
      const rel = sec - (b.offsetSeconds ?? 0);
      if (rel >= 0 && rel % b.everySeconds < b.durationSeconds) rate *= b.multiplier;
    }
    return rate;
  }

  private inBurst(t: number): boolean {
    const sec = (t - this.startUs) / US;
    return this.workload.bursts.some((b) => {
      const rel = sec - (b.offsetSeconds ?? 0);
      return rel >= 0 && rel % b.everySeconds < b.durationSeconds;
    });
  }

  /** Poisson arrivals with a time-varying rate, by thinning against the highest possible rate. */
  private scheduleArrival(dagIndex: number, from: number): void {
    const dag = this.workload.dags[dagIndex]!;
    if (!(dag.runsPerHour > 0)) return;
    const maxMult = Math.max(1, ...this.workload.bursts.map((b) => b.multiplier));
    const maxRatePerUs = (dag.runsPerHour * maxMult) / 3600 / US;
    let t = from;
    for (let guard = 0; guard < 100_000; guard++) {
      t += Math.max(1, Math.round(this.rng.exponential(1 / maxRatePerUs)));
      if (this.rng.next() * dag.runsPerHour * maxMult <= this.rateAt(dag, t)) {
        this.events.push(t, { k: 'arrival', dag: dagIndex });
        return;
      }
    }
  }

  private onArrival(t: number, dagIndex: number): void {
    this.scheduleArrival(dagIndex, t);
    const dag = this.workload.dags[dagIndex]!;
    const manual = this.inBurst(t);
    const last = this.lastLogicalUs.get(dag.dagId) ?? -1;
    // Scheduled runs get millisecond logical dates, manual ones the exact trigger time; both unique per DAG.
    let logical = manual ? t : Math.floor(t / 1000) * 1000;
    if (logical <= last) logical = last + (manual ? 1 : 1000);
    this.lastLogicalUs.set(dag.dagId, logical);
    const runType = manual ? 'manual' : 'scheduled';
    const run: RunModel = {
      id: this.nextRunId++,
      dag,
      runId: `${runType}__${pyIsoformat(logical)}`,
      runType,
      logicalDateUs: logical,
      queuedAtUs: t,
      startDateUs: t,
      endDateUs: null,
      state: 'running',
      tis: [],
      byTask: new Map(),
      unfinished: 0,
    };
    this.totals.dagRuns++;
    this.dirtyRuns.add(run);
    const weights = downstreamWeights(dag);
    for (const spec of dag.tasks) {
      const width =
        spec.mapped === undefined
          ? 0
          : typeof spec.mapped === 'number'
            ? spec.mapped
            : this.rng.int(spec.mapped.min, spec.mapped.max);
      const indexes = spec.mapped === undefined ? [-1] : Array.from({ length: width }, (_, i) => i);
      const list: TiModel[] = [];
      for (const mapIndex of indexes) {
        const ti = this.newTi(run, spec, mapIndex, spec.priorityWeight ?? weights.get(spec.taskId) ?? 1, t);
        list.push(ti);
        run.tis.push(ti);
      }
      run.byTask.set(spec.taskId, list);
    }
    run.unfinished = run.tis.length;
    if (run.tis.length === 0) this.finishRun(t, run);
  }

  private newTi(run: RunModel, spec: TaskSpec, mapIndex: number, priorityWeight: number, t: number): TiModel {
    const ti: TiModel = {
      seq: this.tiSeq++,
      uuid: this.version === '3' ? this.rng.uuid7(t / 1000) : '',
      run,
      spec,
      taskId: spec.taskId,
      mapIndex,
      state: null,
      tryNumber: 0,
      maxTries: spec.retries ?? 0,
      queue: spec.queue ?? 'default',
      pool: spec.pool ?? 'default_pool',
      poolSlots: spec.poolSlots ?? 1,
      priorityWeight,
      operator: spec.operator ?? 'PythonOperator',
      startDateUs: null,
      endDateUs: null,
      durationS: null,
      hostname: '',
      pid: null,
      jobId: null,
      queuedDttmUs: null,
      scheduledDttmUs: null,
      queuedByJobId: null,
      lastHeartbeatUs: null,
      externalExecutorId: null,
      triggerId: null,
      triggerTimeoutUs: null,
      nextMethod: null,
      updatedAtUs: t,
      readyAtUs: null,
      attempt: null,
      pausedThisTry: false,
    };
    this.totals.taskInstances++;
    this.active.add(ti);
    this.touch(ti, t);
    return ti;
  }

  private touch(ti: TiModel, t: number): void {
    ti.updatedAtUs = t;
    this.dirtyTis.add(ti);
  }

  private setTerminal(ti: TiModel, t: number, state: TiStateName): void {
    ti.state = state;
    this.touch(ti, t);
    if (TERMINAL.has(state) && this.active.delete(ti)) {
      ti.run.unfinished--;
      if (ti.run.unfinished === 0) this.finishRun(t, ti.run);
    }
  }

  private finishRun(t: number, run: RunModel): void {
    run.state = run.tis.every((ti) => ti.state === 'success' || ti.state === 'skipped') ? 'success' : 'failed';
    run.endDateUs = t;
    this.dirtyRuns.add(run);
    this.logs.dagRunFinished(t, run);
  }

  // ---------------------------------------------------------------- scheduler

  private onSchedulerLoop(t: number): void {
    const loopUs = this.workload.schedulerLoopSeconds * US;
    const base = Math.floor((t - this.startUs) / loopUs) * loopUs + this.startUs;
    this.events.push(base + loopUs + this.rng.int(0, 200_000), { k: 'sched' });

    this.processExecutorEvents(t);
    this.findZombies(t);
    this.failStuckInQueued(t);
    this.advanceStates(t);
    this.criticalSection(t);
  }

  private processExecutorEvents(t: number): void {
    const events = this.executorEvents;
    this.executorEvents = [];
    for (const ev of events) {
      const { ti } = ev;
      this.logs.executorEvent(t, ti, ev.tryNumber, ev.state);
      if (ev.state === 'queued') {
        if (ti.attempt === ev.attempt && ti.tryNumber === ev.tryNumber) {
          ti.externalExecutorId = ev.attempt.celeryId;
          this.touch(ti, t);
          this.logs.externalId(t, ti, ev.attempt.celeryId);
        }
        continue;
      }
      this.executorOccupied--;
      this.logs.tiFinished(t, ti, ev.tryNumber, ev.state);
      const stillActive =
        ti.tryNumber === ev.tryNumber &&
        ti.attempt === ev.attempt &&
        (ti.state === 'scheduled' || ti.state === 'queued' || ti.state === 'running');
      if (stillActive) {
        this.logs.stateMismatch(t, ti, ev.state);
        this.failTi(t, ti);
      }
    }
  }

  /** Airflow's handle_failure: retry while tries remain, else fail. */
  private failTi(t: number, ti: TiModel): void {
    ti.endDateUs = t;
    if (ti.startDateUs !== null) ti.durationS = (t - ti.startDateUs) / US;
    ti.attempt = null;
    if (ti.tryNumber <= ti.maxTries) {
      ti.state = 'up_for_retry';
      ti.readyAtUs = t + (ti.spec.retryDelaySeconds ?? 300) * US;
      this.touch(ti, t);
    } else {
      this.setTerminal(ti, t, 'failed');
    }
  }

  private findZombies(t: number): void {
    const limit = t - this.workload.zombieThresholdSeconds * US;
    const found: { ti: TiModel; attempt: AttemptModel }[] = [];
    for (const ti of this.active) {
      const a = ti.attempt;
      if (ti.state !== 'running' || !a?.killed) continue;
      const hb = ti.lastHeartbeatUs ?? ti.startDateUs ?? t;
      if (hb < limit) found.push({ ti, attempt: a });
    }
    if (found.length === 0) return;
    this.logs.zombies(t, found, limit);
    for (const { ti } of found) {
      this.totals.zombies++;
      this.executorOccupied--;
      this.failTi(t, ti);
    }
  }

  private failStuckInQueued(t: number): void {
    for (const ti of this.active) {
      const a = ti.attempt;
      if (ti.state !== 'queued' || !a?.killed || ti.queuedDttmUs === null) continue;
      if (ti.queuedDttmUs + TASK_QUEUED_TIMEOUT_US > t) continue;
      this.executorOccupied--;
      this.failTi(t, ti);
    }
  }

  private advanceStates(t: number): void {
    for (const ti of [...this.active]) {
      if (ti.state === null) {
        let blocked = false;
        let upstreamFailed = false;
        for (const up of ti.spec.upstream ?? []) {
          for (const u of ti.run.byTask.get(up) ?? []) {
            if (u.state === 'failed' || u.state === 'upstream_failed') upstreamFailed = true;
            else if (u.state !== 'success' && u.state !== 'skipped') blocked = true;
          }
        }
        if (upstreamFailed) {
          ti.startDateUs = t;
          ti.endDateUs = t;
          ti.durationS = 0;
          this.setTerminal(ti, t, 'upstream_failed');
        } else if (!blocked) {
          ti.tryNumber = 1;
          this.toScheduled(ti, t);
        }
      } else if (
        (ti.state === 'up_for_retry' || ti.state === 'up_for_reschedule' || ti.state === 'deferred') &&
        ti.readyAtUs !== null &&
        ti.readyAtUs <= t
      ) {
        if (ti.state === 'up_for_retry') {
          ti.tryNumber++;
          ti.pausedThisTry = false;
        }
        if (ti.triggerId !== null) {
          this.deletedTriggers.push(ti.triggerId);
          ti.triggerId = null;
          ti.triggerTimeoutUs = null;
        }
        this.toScheduled(ti, t);
      }
    }
  }

  private toScheduled(ti: TiModel, t: number): void {
    ti.state = 'scheduled';
    ti.scheduledDttmUs = t;
    ti.readyAtUs = null;
    this.touch(ti, t);
  }

  private criticalSection(t: number): void {
    const maxTis = Math.min(this.workload.maxTisPerQuery, this.workload.parallelism - this.executorOccupied);
    if (maxTis <= 0) return;
    const scheduled = [...this.active].filter((ti) => ti.state === 'scheduled');
    if (scheduled.length === 0) return;
    scheduled.sort(
      (a, b) =>
        b.priorityWeight - a.priorityWeight ||
        a.run.logicalDateUs - b.run.logicalDateUs ||
        a.run.id - b.run.id ||
        a.mapIndex - b.mapIndex ||
        a.seq - b.seq,
    );
    const poolUsed = new Map<string, number>();
    const activeByDag = new Map<string, number>();
    for (const ti of this.active) {
      const pool = this.pools.get(ti.pool);
      if (ti.state === 'queued' || ti.state === 'running' || (ti.state === 'deferred' && pool?.includeDeferred)) {
        poolUsed.set(ti.pool, (poolUsed.get(ti.pool) ?? 0) + ti.poolSlots);
      }
      if (ti.state === 'queued' || ti.state === 'running') {
        activeByDag.set(ti.run.dag.dagId, (activeByDag.get(ti.run.dag.dagId) ?? 0) + 1);
      }
    }
    // The candidates query skips pools with no open slot; the rest are examined up to max_tis.
    const starvedPools = new Set<string>();
    for (const [name, p] of this.pools) if (p.slots - (poolUsed.get(name) ?? 0) <= 0) starvedPools.add(name);
    const candidates = scheduled.filter((ti) => !starvedPools.has(ti.pool)).slice(0, maxTis);
    if (candidates.length === 0) return;
    this.logs.candidates(t, candidates, activeByDag);
    const executable: TiModel[] = [];
    const reportedPools = new Set<string>();
    for (const ti of candidates) {
      const pool = this.pools.get(ti.pool)!;
      const open = pool.slots - (poolUsed.get(ti.pool) ?? 0);
      if (open < ti.poolSlots) {
        if (!reportedPools.has(ti.pool)) this.logs.poolFull(t, ti.pool, Math.max(0, open));
        reportedPools.add(ti.pool);
        continue;
      }
      const dagActive = activeByDag.get(ti.run.dag.dagId) ?? 0;
      if (dagActive >= (ti.run.dag.maxActiveTasks ?? 16)) continue;
      executable.push(ti);
      poolUsed.set(ti.pool, (poolUsed.get(ti.pool) ?? 0) + ti.poolSlots);
      activeByDag.set(ti.run.dag.dagId, dagActive + 1);
    }
    if (executable.length === 0) return;
    this.logs.queued(t, executable);
    for (const ti of executable) {
      ti.state = 'queued';
      ti.queuedDttmUs = t;
      ti.queuedByJobId = this.schedulerJob.id;
      this.touch(ti, t);
    }
    const sendAt = t + 2000;
    this.logs.enqueued(sendAt, executable);
    for (const ti of executable) this.sendToCelery(ti);
    this.requestPoll(sendAt + 3000);
  }

  private sendToCelery(ti: TiModel): void {
    const celeryId = this.rng.uuid4();
    const deliveryTag = this.rng.uuid4();
    const logRel = `${TASK_LOG_DIR}/${renderDefaultLogPath({
      dagId: ti.run.dag.dagId,
      runId: ti.run.runId,
      taskId: ti.taskId,
      mapIndex: ti.mapIndex,
      tryNumber: ti.tryNumber,
    })}`;
    const args: unknown[] =
      this.version === '2.10'
        ? [commandList(ti)]
        : [
            JSON.stringify({
              token: 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.simulated.signature',
              ti: {
                id: ti.uuid,
                task_id: ti.taskId,
                dag_id: ti.run.dag.dagId,
                run_id: ti.run.runId,
                try_number: ti.tryNumber,
                map_index: ti.mapIndex,
                pool_slots: ti.poolSlots,
                queue: ti.queue,
                priority_weight: ti.priorityWeight,
              },
              dag_rel_path: ti.run.dag.fileName ?? `${ti.run.dag.dagId}.py`,
              bundle_info: { name: 'dags-folder', version: null },
              log_path: logRel.slice(TASK_LOG_DIR.length + 1),
              type: 'ExecuteTask',
            }),
          ];
    const message = celeryMessage({
      taskName: this.version === '2.10' ? CELERY_TASK_NAME_2 : CELERY_TASK_NAME_3,
      taskId: celeryId,
      args,
      argsrepr: this.version === '2.10' ? `[${pyStrList(commandList(ti))}]` : "('...',)",
      queue: ti.queue,
      replyTo: this.rng.uuid4(),
      deliveryTag,
      origin: 'gen1@scheduler',
    });
    const resumed = ti.nextMethod !== null;
    const a: AttemptModel = {
      ti,
      celeryId,
      tryNumber: ti.tryNumber,
      message,
      deliveryTag,
      queue: ti.queue,
      worker: null,
      forkIndex: 0,
      pid: 0,
      receivedUs: 0,
      startUs: 0,
      endUs: 0,
      outcome: 'success',
      resumed,
      killed: false,
      done: false,
      logRel,
      jobId: null,
      prints: 0,
      redelivered: false,
    };
    ti.attempt = a;
    this.totals.attempts++;
    this.executorOccupied++;
    let q = this.broker.get(ti.queue);
    if (!q) {
      q = [];
      this.broker.set(ti.queue, q);
    }
    q.push(a);
    this.redisOps.push(['lpush', ti.queue, message]);
    this.executorEvents.push({ ti, attempt: a, tryNumber: ti.tryNumber, state: 'queued' });
  }

  // ---------------------------------------------------------------- workers

  private applyWorkers(specs: WorkerSpec[]): void {
    const wanted = new Map(specs.map((s) => [s.hostname, s]));
    for (const [host, w] of [...this.workers]) {
      if (!wanted.has(host)) this.killWorker(w);
    }
    for (const s of [...wanted.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1))) {
      for (const q of s.queues) this.knownQueues.add(q);
      const existing = this.workers.get(s.hostname);
      if (existing) {
        const extra = s.concurrency - existing.spec.concurrency;
        existing.spec = { ...s, queues: [...s.queues] };
        for (let i = 0; i < extra; i++) existing.freeForks.push(existing.spec.concurrency - extra + i + 1);
        if (extra < 0) existing.freeForks = existing.freeForks.filter((f) => f <= s.concurrency);
        continue;
      }
      const w: WorkerModel = {
        spec: { ...s, queues: [...s.queues] },
        running: [],
        freeForks: Array.from({ length: s.concurrency }, (_, i) => i + 1),
        logRel: workerLogRel(s.hostname),
        nextPid: 100 + (this.rng.int(0, 50) | 0),
      };
      this.workers.set(s.hostname, w);
      this.logs.workerStarted(this.nowUs, w);
    }
    this.requestPoll(this.nowUs + 1_100_000);
  }

  private killWorker(w: WorkerModel): void {
    this.workers.delete(w.spec.hostname);
    for (const a of w.running) {
      a.killed = true;
      const ti = a.ti;
      this.killed.push({
        dagId: ti.run.dag.dagId,
        taskId: ti.taskId,
        runId: ti.run.runId,
        mapIndex: ti.mapIndex,
        tryNumber: a.tryNumber,
        hostname: w.spec.hostname,
        queue: a.queue,
        celeryId: a.celeryId,
        killedAt: isoMicrosZ(this.nowUs),
        stateWhenKilled: ti.state ?? 'none',
      });
      // kombu restores an unacked message once visibility_timeout has passed since delivery.
      this.events.push(Math.max(this.nowUs, a.receivedUs + this.workload.visibilityTimeoutSeconds * US), {
        k: 'restore',
        a,
      });
    }
    w.running = [];
  }

  private requestPoll(t: number): void {
    if (t >= this.pollAt && this.pollAt >= this.nowUs) return;
    this.pollAt = t;
    this.events.push(t, { k: 'poll' });
  }

  private onPoll(t: number): void {
    if (t !== this.pollAt) return;
    this.pollAt = Number.POSITIVE_INFINITY;
    const hosts = [...this.workers.keys()].sort();
    if (hosts.length === 0) return;
    const n = hosts.length;
    const start = this.pollRotation++ % n;
    let progress = true;
    while (progress) {
      progress = false;
      for (let k = 0; k < n; k++) {
        const w = this.workers.get(hosts[(start + k) % n]!)!;
        if (w.spec.draining || w.freeForks.length === 0) continue;
        for (const q of w.spec.queues) {
          const list = this.broker.get(q);
          if (list && list.length > 0) {
            this.deliver(t, w, list.shift()!);
            progress = true;
            break;
          }
        }
      }
    }
  }

  private deliver(t: number, w: WorkerModel, a: AttemptModel): void {
    this.redisOps.push(['rpop', a.queue]);
    this.redisOps.push(['hset', UNACKED_KEY, a.deliveryTag, unackedValue(a.message, a.queue)]);
    this.redisOps.push(['zadd', UNACKED_INDEX_KEY, Math.floor(t / US), a.deliveryTag]);
    this.unacked.set(a.deliveryTag, a);
    w.freeForks.sort((x, y) => x - y);
    a.forkIndex = w.freeForks.shift()!;
    a.worker = w;
    a.pid = w.nextPid++;
    a.receivedUs = t;
    w.running.push(a);
    this.logs.received(t, a);
    this.logs.executing(t + 3000, a);
    if (a.redelivered || a.ti.attempt !== a) {
      // A restored message whose TI has moved on: `airflow tasks run` finds nothing to do.
      a.redelivered = true;
      a.outcome = 'success';
      a.endUs = t + this.rng.int(600_000, 1_200_000);
      this.events.push(a.endUs, { k: 'end', a });
      return;
    }
    const spec = a.ti.spec;
    let outcome: AttemptOutcome = 'success';
    if (!a.resumed && this.rng.chance(this.workload.executorFailureRate)) outcome = 'executor_failure';
    else if (!a.resumed && !a.ti.pausedThisTry && this.rng.chance(spec.deferralRate ?? 0)) outcome = 'defer';
    else if (!a.resumed && !a.ti.pausedThisTry && this.rng.chance(spec.rescheduleRate ?? 0)) outcome = 'reschedule';
    else if (this.rng.chance(spec.failureRate ?? 0)) outcome = 'failure';
    a.outcome = outcome;
    if (outcome === 'executor_failure') {
      a.endUs = t + this.rng.int(800_000, 2_000_000);
      this.events.push(a.endUs, { k: 'end', a });
      return;
    }
    a.startUs = t + this.rng.int(300_000, 900_000);
    const d = spec.duration ?? { medianSeconds: 10 };
    let seconds = this.rng.logNormal(d.medianSeconds, d.sigma ?? 0.5);
    seconds = Math.min(Math.max(seconds, d.minSeconds ?? 0.5), d.maxSeconds ?? Number.POSITIVE_INFINITY);
    if (outcome === 'defer' || outcome === 'reschedule') seconds = this.rng.uniform(0.5, 2);
    const runUs = Math.round(seconds * US);
    a.endUs = a.startUs + 400_000 + runUs;
    const noise = this.workload.noise;
    a.prints = this.rng.int(noise.printLines.min, noise.printLines.max);
    this.events.push(a.startUs, { k: 'start', a });
    for (let i = 0; i < a.prints; i++) {
      this.events.push(a.startUs + 300_000 + Math.floor(((i + 0.5) * runUs) / a.prints), { k: 'print', a, i });
    }
    this.events.push(a.endUs, { k: 'end', a });
  }

  private onStart(t: number, a: AttemptModel): void {
    if (a.killed || !a.worker) return;
    const ti = a.ti;
    this.logs.workerTaskStart(t - 150_000, a);
    if (this.version === '2.10') {
      const job: JobRow = {
        id: this.nextJobId++,
        dagId: ti.run.dag.dagId,
        state: 'running',
        jobType: 'LocalTaskJob',
        startUs: t,
        endUs: null,
        heartbeatUs: t,
        hostname: a.worker.spec.hostname,
      };
      this.jobs.set(job.id, job);
      this.dirtyJobs.add(job);
      a.jobId = job.id;
      ti.jobId = job.id;
    }
    ti.state = 'running';
    if (!a.resumed || ti.startDateUs === null) ti.startDateUs = t;
    ti.endDateUs = null;
    ti.durationS = null;
    ti.hostname = a.worker.spec.hostname;
    ti.pid = a.pid;
    ti.lastHeartbeatUs = this.version === '3' ? t : null;
    this.touch(ti, t);
    this.logs.taskStart(t, a, !a.resumed && !ti.pausedThisTry);
  }

  private onEnd(t: number, a: AttemptModel): void {
    if (a.killed || !a.worker || a.done) return;
    a.done = true;
    const w = a.worker;
    w.running = w.running.filter((x) => x !== a);
    w.freeForks.push(a.forkIndex);
    this.unacked.delete(a.deliveryTag);
    this.redisOps.push(['hdel', UNACKED_KEY, a.deliveryTag]);
    this.redisOps.push(['zrem', UNACKED_INDEX_KEY, a.deliveryTag]);
    this.requestPoll(t + 5000);
    if (a.redelivered) {
      this.totals.redelivered++;
      this.logs.celeryDone(t, a, { kind: 'success' });
      return;
    }
    const ti = a.ti;
    if (a.outcome === 'executor_failure') {
      this.logs.celeryDone(t, a, { kind: 'executor_failure' });
      this.executorEvents.push({ ti, attempt: a, tryNumber: a.tryNumber, state: 'failed' });
      return;
    }
    let end: AttemptEnd;
    ti.endDateUs = t;
    ti.durationS = ti.startDateUs === null ? null : (t - ti.startDateUs) / US;
    if (a.outcome === 'success') {
      end = { kind: 'success' };
      ti.attempt = null;
      this.setTerminal(ti, t, 'success');
    } else if (a.outcome === 'failure') {
      end = { kind: 'failure', willRetry: ti.tryNumber <= ti.maxTries };
      this.failTi(t, ti);
    } else if (a.outcome === 'defer') {
      const fireUs = t + (ti.spec.deferSeconds ?? 30) * US;
      const trigger: TriggerRow = { id: this.nextTriggerId++, createdUs: t, fireUs };
      this.newTriggers.push(trigger);
      end = { kind: 'defer', triggerId: trigger.id };
      ti.state = 'deferred';
      ti.triggerId = trigger.id;
      ti.triggerTimeoutUs = t + 3600 * US;
      ti.nextMethod = 'execute_complete';
      ti.readyAtUs = fireUs;
      ti.pausedThisTry = true;
      ti.attempt = null;
      this.touch(ti, t);
    } else {
      const at = t + (ti.spec.rescheduleSeconds ?? 60) * US;
      end = { kind: 'reschedule', rescheduleUs: at };
      ti.state = 'up_for_reschedule';
      ti.readyAtUs = at;
      ti.pausedThisTry = true;
      ti.attempt = null;
      this.touch(ti, t);
    }
    if (a.resumed && a.outcome !== 'defer') ti.nextMethod = null;
    this.logs.taskEnd(t, a, end);
    this.logs.celeryDone(t + 100_000, a, end);
    if (a.jobId !== null) {
      const job = this.jobs.get(a.jobId);
      if (job) {
        job.state = 'success';
        job.endUs = t;
        job.heartbeatUs = t;
        this.dirtyJobs.add(job);
        this.jobs.delete(job.id);
      }
    }
    const celeryFailed = this.version === '2.10' && end.kind === 'failure';
    this.executorEvents.push({ ti, attempt: a, tryNumber: a.tryNumber, state: celeryFailed ? 'failed' : 'success' });
  }

  private onHeartbeat(t: number): void {
    this.events.push(t + HEARTBEAT_US, { k: 'hb' });
    this.schedulerJob.heartbeatUs = t;
    this.dirtyJobs.add(this.schedulerJob);
    for (const w of this.workers.values()) {
      for (const a of w.running) {
        if (a.killed || a.ti.attempt !== a || a.ti.state !== 'running') continue;
        if (this.version === '3') {
          a.ti.lastHeartbeatUs = t;
          this.touch(a.ti, t);
        } else if (a.jobId !== null) {
          const job = this.jobs.get(a.jobId);
          if (job) {
            job.heartbeatUs = t;
            this.dirtyJobs.add(job);
          }
        }
      }
    }
  }

  private onRestore(t: number, a: AttemptModel): void {
    if (!this.unacked.has(a.deliveryTag)) return;
    this.unacked.delete(a.deliveryTag);
    this.redisOps.push(['hdel', UNACKED_KEY, a.deliveryTag]);
    this.redisOps.push(['zrem', UNACKED_INDEX_KEY, a.deliveryTag]);
    this.redisOps.push(['rpush', a.queue, a.message]);
    const copy: AttemptModel = { ...a, worker: null, killed: false, done: false, redelivered: true };
    let q = this.broker.get(a.queue);
    if (!q) {
      q = [];
      this.broker.set(a.queue, q);
    }
    q.unshift(copy);
    this.requestPoll(t + 5000);
  }

  // ---------------------------------------------------------------- depth

  private snapshot(): DepthSnapshot {
    const queues = [...this.knownQueues].sort();
    const taskInstances: Record<string, Record<string, number>> = {};
    const zero = () => Object.fromEntries(ACTIVE_STATES.map((s) => [s, 0])) as Record<string, number>;
    for (const q of queues) taskInstances[q] = zero();
    const byPool: Record<string, Record<string, number>> = {};
    for (const p of [...this.pools.keys()].sort()) byPool[p] = zero();
    const oldest: Record<string, number | null> = Object.fromEntries(queues.map((q) => [q, null]));
    const poolUsed = new Map<string, number>();
    for (const ti of this.active) {
      const s = ti.state;
      if (s === null || !(ACTIVE_STATES as readonly string[]).includes(s)) continue;
      taskInstances[ti.queue] ??= zero();
      taskInstances[ti.queue]![s] = (taskInstances[ti.queue]![s] ?? 0) + 1;
      byPool[ti.pool] ??= zero();
      byPool[ti.pool]![s] = (byPool[ti.pool]![s] ?? 0) + 1;
      if (s === 'queued' && ti.queuedDttmUs !== null) {
        const age = (this.nowUs - ti.queuedDttmUs) / US;
        const cur = oldest[ti.queue];
        if (cur === null || cur === undefined || age > cur) oldest[ti.queue] = age;
      }
      const pool = this.pools.get(ti.pool);
      if (s === 'queued' || s === 'running' || (s === 'deferred' && pool?.includeDeferred)) {
        poolUsed.set(ti.pool, (poolUsed.get(ti.pool) ?? 0) + ti.poolSlots);
      }
    }
    const poolOpenSlots: Record<string, number> = {};
    for (const [name, p] of [...this.pools.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      poolOpenSlots[name] = p.slots - (poolUsed.get(name) ?? 0);
    }
    const brokerQueues: Record<string, number> = {};
    for (const q of queues) brokerQueues[q] = this.broker.get(q)?.length ?? 0;
    let running = 0;
    for (const w of this.workers.values()) running += w.running.length;
    return {
      at: isoMicrosZ(this.nowUs),
      atMicros: this.nowUs,
      taskInstances,
      taskInstancesByPool: byPool,
      oldestQueuedAgeSeconds: oldest,
      poolOpenSlots,
      schedulerHeartbeatAgeSeconds: (this.nowUs - this.schedulerJob.heartbeatUs) / US,
      broker: { queues: brokerQueues, unacked: this.unacked.size },
      celeryTasksOnWorkers: running,
    };
  }
}

/** `priority_weight` with Airflow's default `downstream` weight rule: 1 + number of downstream tasks. */
function downstreamWeights(dag: DagSpec): Map<string, number> {
  const children = new Map<string, string[]>();
  for (const t of dag.tasks) for (const u of t.upstream ?? []) children.set(u, [...(children.get(u) ?? []), t.taskId]);
  const weights = new Map<string, number>();
  for (const t of dag.tasks) {
    const seen = new Set<string>();
    const stack = [...(children.get(t.taskId) ?? [])];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (seen.has(c)) continue;
      seen.add(c);
      stack.push(...(children.get(c) ?? []));
    }
    weights.set(t.taskId, 1 + seen.size);
  }
  return weights;
}

/** The preset workload by name, with a clear error naming the presets. */
export function presetWorkload(name: string): Workload {
  const make = WORKLOAD_PRESETS[name];
  if (!make) throw new Error(`unknown workload '${name}': expected one of ${Object.keys(WORKLOAD_PRESETS).join(', ')}`);
  return make();
}
