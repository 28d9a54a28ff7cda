/**
 * The scaler's coordinator: each poll reads demand (metadb + broker) and every pool's workers
 * (backend), decides per pool with the pure `decide`, adds workers at once, and scales in only by
 * granting exits to idle workers that ask (the exit handshake): a worker leaves by itself, and
 * only then is it removed from its backend. Only the leader acts; a follower answers agents "not
 * the leader".
 */
import { randomUUID } from 'node:crypto';
import {
  type ExtraRoute,
  errorMessage,
  type LeaderElector,
  type Logger,
  PeriodicJob,
  type Service,
} from '@windsock/core';
import type { Metrics } from '@windsock/metrics';
import {
  decide,
  initialMemory,
  type PoolDecision,
  type PoolMemory,
  poolDemand,
  type QueueDemand,
  type WorkerPool,
} from '@windsock/scaling';
import type { Registry } from 'prom-client';
import { type BackendWorker, liveWorkers, type PoolBackend } from './backend.ts';
import type { MetadbDemand, ScalerBroker, ScalerMetadb } from './observe.ts';

/** What an agent tells the coordinator each poll. */
export interface AgentReport {
  pool: string;
  workerId: string;
  busy: boolean;
  /** The task_instance.hostname of this worker's tasks. */
  taskHostname?: string;
}

/** The coordinator's answer to a report. */
export interface ReportAnswer {
  mayExit: boolean;
  grantId?: string;
  expiresInSeconds?: number;
  reason: string;
  leader: boolean;
}

interface Grant {
  id: string;
  expiresAt: number;
}

interface PoolState {
  pool: WorkerPool;
  backend: PoolBackend;
  memory: PoolMemory;
  grants: Map<string, Grant>;
  reports: Map<string, AgentReport & { at: number }>;
  /** Exits still allowed until the next decision. */
  budget: number;
  live: Map<string, BackendWorker>;
  last?: PoolDecision & { demand: number | null };
}

/** Options of {@link Coordinator}. */
export interface CoordinatorOptions {
  pools: ReadonlyArray<{ pool: WorkerPool; backend: PoolBackend }>;
  metadb: Pick<ScalerMetadb, 'read' | 'close'>;
  broker?: Pick<ScalerBroker, 'backlog' | 'close'>;
  metrics: Metrics;
  elector?: LeaderElector;
  logger: Logger;
  intervalMs: number;
  /** A grant lapses when its worker has not left within this time. */
  grantTtlMs: number;
  /** An agent's busy report counts this long. */
  reportTtlMs: number;
  /** Decide and log, never act. */
  dryRun?: boolean;
  registry?: Registry;
  clock?: () => number;
}

export class Coordinator implements Service {
  readonly name = 'scaler';
  private readonly job: PeriodicJob;
  private readonly pools = new Map<string, PoolState>();
  private readonly now: () => number;
  private role: 'starting' | 'leader' | 'follower' = 'starting';
  private leaderNow = false;

  constructor(private readonly opts: CoordinatorOptions) {
    this.now = opts.clock ?? Date.now;
    for (const { pool, backend } of opts.pools) {
      this.pools.set(pool.name, {
        pool,
        backend,
        memory: initialMemory(),
        grants: new Map(),
        reports: new Map(),
        budget: 0,
        live: new Map(),
      });
    }
    this.job = new PeriodicJob({
      name: 'scaler-decide',
      intervalMs: opts.intervalMs,
      run: () => this.tick().then(() => undefined),
      logger: opts.logger,
      ...(opts.registry ? { registry: opts.registry } : {}),
    });
  }

  async start(): Promise<void> {
    await this.opts.elector?.start();
    this.job.start();
  }

  async stop(): Promise<void> {
    await this.job.stop();
    await this.opts.elector?.stop();
    await this.opts.metrics.close();
    await this.opts.metadb.close();
    await this.opts.broker?.close();
    for (const s of this.pools.values()) await s.backend.close();
  }

  status(): unknown {
    return {
      role: this.role,
      dryRun: this.opts.dryRun === true,
      ...(this.opts.elector ? { leader: this.opts.elector.status() } : {}),
      pools: [...this.pools.values()].map((s) => ({
        pool: s.pool.name,
        last: s.last ? summarise(s.last) : null,
        grants: [...s.grants.keys()],
        budget: s.budget,
      })),
    };
  }

  routes(): ExtraRoute[] {
    return [
      {
        method: 'POST',
        url: '/scaler/v1/report',
        mutating: true,
        handler: async (req, reply) => {
          const body = req.body as Partial<AgentReport> | undefined;
          if (
            !body ||
            typeof body.pool !== 'string' ||
            typeof body.workerId !== 'string' ||
            typeof body.busy !== 'boolean'
          ) {
            return reply.code(400).send({ error: 'expected {pool, workerId, busy}' });
          }
          const answer = this.report(body as AgentReport);
          if (!answer) return reply.code(404).send({ error: `unknown pool "${body.pool}"` });
          return answer;
        },
      },
      {
        method: 'POST',
        url: '/scaler/v1/abort',
        mutating: true,
        handler: async (req, reply) => {
          const body = req.body as { pool?: string; workerId?: string; grantId?: string } | undefined;
          const s = body?.pool ? this.pools.get(body.pool) : undefined;
          if (!s || typeof body?.workerId !== 'string')
            return reply.code(400).send({ error: 'expected {pool, workerId}' });
          const g = s.grants.get(body.workerId);
          if (g && (!body.grantId || g.id === body.grantId)) {
            s.grants.delete(body.workerId);
            this.opts.logger.info(
              { pool: s.pool.name, workerId: body.workerId },
              'exit aborted by the worker (it got a task): grant lapsed',
            );
          }
          return { ok: true };
        },
      },
    ];
  }

  /** Handle one agent report; null for an unknown pool. */
  report(r: AgentReport): ReportAnswer | null {
    const s = this.pools.get(r.pool);
    if (!s) return null;
    const now = this.now();
    s.reports.set(r.workerId, { ...r, at: now });
    const leader = this.isLeaderNow();
    const existing = s.grants.get(r.workerId);
    if (r.busy) {
      if (existing) {
        s.grants.delete(r.workerId);
        this.opts.logger.info({ pool: s.pool.name, workerId: r.workerId }, 'granted worker reports busy: grant lapsed');
      }
      return { mayExit: false, reason: 'busy', leader };
    }
    if (!leader) return { mayExit: false, reason: 'not the leader', leader };
    if (this.opts.dryRun) return { mayExit: false, reason: 'dry run', leader };
    if (existing && existing.expiresAt > now) {
      return {
        mayExit: true,
        grantId: existing.id,
        expiresInSeconds: (existing.expiresAt - now) / 1000,
        reason: 'granted',
        leader,
      };
    }
    if (existing) s.grants.delete(r.workerId);
    if (s.budget <= 0) return { mayExit: false, reason: s.last?.reason ?? 'no decision yet', leader };
    const w = s.live.get(r.workerId);
    if (!w || w.state !== 'running') return { mayExit: false, reason: 'unknown or not running worker', leader };
    s.budget--;
    const grant = { id: randomUUID(), expiresAt: now + this.opts.grantTtlMs };
    s.grants.set(r.workerId, grant);
    this.opts.metrics.counter('ExitsGranted', { WorkerPool: s.pool.name }).add(1);
    this.opts.logger.info({ pool: s.pool.name, workerId: r.workerId, grantId: grant.id }, 'exit granted');
    return {
      mayExit: true,
      grantId: grant.id,
      expiresInSeconds: this.opts.grantTtlMs / 1000,
      reason: 'granted',
      leader,
    };
  }

  private isLeaderNow(): boolean {
    return !this.opts.elector || (this.opts.elector.isLeader() && this.leaderNow);
  }

  /** One poll: decide for every pool and act (as leader, unless dry-run). Resolves with the decisions. */
  async tick(act = true): Promise<Array<PoolDecision & { demand: number | null }>> {
    const { elector, logger } = this.opts;
    const leading = !elector || elector.isLeader();
    if (!leading) {
      this.setRole('follower');
      this.leaderNow = false;
      for (const s of this.pools.values()) {
        s.budget = 0;
        s.grants.clear();
      }
      return [];
    }
    let metadb: MetadbDemand | null = null;
    try {
      metadb = await this.opts.metadb.read();
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'metadb unreadable: holding scale-in');
    }
    const queues = [...this.pools.values()].flatMap((s) => s.pool.queues);
    const backlog = metadb && this.opts.broker ? await this.opts.broker.backlog(queues) : null;
    // Acting twice would double a scale-out: make sure the lock is still ours.
    if (elector && !(await elector.confirm())) {
      this.setRole('follower');
      this.leaderNow = false;
      return [];
    }
    this.setRole('leader');
    this.leaderNow = true;
    const out: Array<PoolDecision & { demand: number | null }> = [];
    for (const s of this.pools.values()) out.push(await this.decidePool(s, metadb, backlog, act && !this.opts.dryRun));
    void this.opts.metrics.flush();
    return out;
  }

  private async decidePool(
    s: PoolState,
    metadb: MetadbDemand | null,
    backlog: Map<string, number> | null,
    act: boolean,
  ): Promise<PoolDecision & { demand: number | null }> {
    const { logger, metrics } = this.opts;
    const name = s.pool.name;
    const now = this.now();
    let workers: BackendWorker[] | null = null;
    try {
      workers = await s.backend.workers();
    } catch (err) {
      logger.warn({ pool: name, backend: s.backend.kind, err: errorMessage(err) }, 'backend unreadable: holding');
    }
    metrics.gauge('ScalerBackendUp', { WorkerPool: name }).set(workers ? 1 : 0);

    let removed = 0;
    if (workers) {
      // Workers that left: an exit we granted, or a crash. Either way nothing runs there any more.
      for (const w of workers.filter((x) => x.state === 'gone')) {
        const granted = s.grants.has(w.workerId);
        if (!act) continue;
        try {
          await s.backend.remove(w);
          removed++;
          s.grants.delete(w.workerId);
          s.reports.delete(w.workerId);
          if (granted) {
            metrics.counter('ScalingActions', { WorkerPool: name, Direction: 'In' }).add(1);
            logger.info(
              { pool: name, workerId: w.workerId, exitCode: w.exitCode },
              'worker left after its exit grant: removed',
            );
          } else {
            logger.warn(
              { pool: name, workerId: w.workerId, exitCode: w.exitCode },
              'worker exited without an exit grant (crash?): removed',
            );
          }
        } catch (err) {
          logger.warn(
            { pool: name, workerId: w.workerId, err: errorMessage(err) },
            'could not remove an exited worker',
          );
        }
      }
    }
    const live = workers ? liveWorkers(workers) : [];
    if (workers) s.live = new Map(live.map((w) => [w.workerId, w]));
    // grants lapse when their worker did not leave in time
    for (const [id, g] of s.grants) {
      if (g.expiresAt <= now || (workers && !s.live.has(id))) s.grants.delete(id);
    }
    for (const [id, r] of s.reports) if (now - r.at > this.opts.reportTtlMs) s.reports.delete(id);

    let demand: number | null = null;
    if (metadb) {
      const byQueue = new Map<string, QueueDemand>();
      for (const q of s.pool.queues) {
        const d = metadb.byQueue.get(q) ?? { queued: 0, running: 0 };
        byQueue.set(q, { ...d, ...(backlog ? { brokerBacklog: backlog.get(q) ?? 0 } : {}) });
      }
      demand = poolDemand(s.pool, byQueue);
    }
    let busy = 0;
    for (const w of live) {
      const r = s.reports.get(w.workerId);
      const host = r?.taskHostname ?? w.workerId;
      if (r?.busy || (metadb?.runningByHost.get(host) ?? 0) > 0 || !r) busy++;
    }
    const exitsPending = [...s.grants.keys()].filter((id) => s.live.has(id)).length;
    const decision = decide(
      s.pool,
      { now, demand, current: workers ? live.length : null, busy, exitsPending },
      s.memory,
    );
    s.memory = decision.memory;
    s.budget = act ? decision.exitBudget : 0;

    if (decision.desired !== null) metrics.gauge('WorkerPoolDesiredCount', { WorkerPool: name }).set(decision.desired);
    if (workers) metrics.gauge('WorkerPoolRunningCount', { WorkerPool: name }).set(live.length);
    metrics.gauge('WorkerPoolBusyWorkers', { WorkerPool: name }).set(busy);
    if (decision.deferred) metrics.counter('ScaleInDeferred', { WorkerPool: name, Reason: decision.deferred }).add(1);

    let added: string[] = [];
    if (decision.action === 'scale-out' && act) {
      try {
        added = await s.backend.add(decision.add);
        metrics.counter('ScalingActions', { WorkerPool: name, Direction: 'Out' }).add(1);
      } catch (err) {
        logger.warn({ pool: name, err: errorMessage(err), wanted: decision.add }, 'scale-out failed');
      }
    }
    const full = { ...decision, demand };
    s.last = full;
    logger.info(
      { ...summarise(full), removedExited: removed, added, dryRun: this.opts.dryRun === true },
      'scaling decision',
    );
    return full;
  }

  private setRole(role: 'leader' | 'follower'): void {
    if (role === this.role) return;
    this.role = role;
    this.opts.logger.info(
      { role },
      role === 'leader' ? 'scaling as the leader' : 'not holding the scaler lock: not acting',
    );
  }
}

/** The fields of a decision that go in its log line and in `--once` output. */
export function summarise(d: PoolDecision & { demand: number | null }) {
  return {
    pool: d.pool,
    demand: d.demand,
    desired: d.desired,
    current: d.current,
    busy: d.busy,
    exitsPending: d.exitsPending,
    action: d.action,
    add: d.add,
    exitBudget: d.exitBudget,
    target: d.target,
    reason: d.reason,
    ...(d.deferred ? { deferred: d.deferred } : {}),
  };
}
