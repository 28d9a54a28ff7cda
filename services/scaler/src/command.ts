import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import {
  type CommandContext,
  ConfigError,
  LeaderElector,
  type Logger,
  UserError,
  type WindsockCommand,
} from '@windsock/core';
import { createSinks, JsonSnapshotSink, type MetricSink, Metrics } from '@windsock/metrics';
import {
  checkScalablePools,
  resolveWorkerPools,
  type WorkerPool,
  type WorkerPoolConfig,
  type WorkerPoolDefaults,
} from '@windsock/scaling';
import { Redis } from 'ioredis';
import { WorkerAgent } from './agent.ts';
import type { PoolBackend } from './backend.ts';
import { type ScalerConfig, scalerSection, type WorkerAgentConfig, workerAgentSection } from './config.ts';
import { Coordinator, summarise } from './coordinator.ts';
import { DockerBackend } from './docker-backend.ts';
import { ScalerBroker, ScalerMetadb } from './observe.ts';

type Ctx = CommandContext<{
  scaler: ScalerConfig;
  workerPools: WorkerPoolConfig[];
  workerPoolDefaults: WorkerPoolDefaults;
}>;
type AgentCtx = CommandContext<{ workerAgent: WorkerAgentConfig }>;

/** The backend of one pool, from its config. */
export function backendFor(pool: WorkerPool): PoolBackend {
  const b = pool.backend;
  if (b?.type === 'docker') {
    return new DockerBackend({
      pool: pool.name,
      template: b.template as string,
      ...(b.dockerHost ? { dockerHost: b.dockerHost } : {}),
    });
  }
  throw new ConfigError(
    `workerPools: pool "${pool.name}" uses backend "${b?.type}", which this build cannot drive yet; use docker`,
  );
}

/** Everything `windsock scaler` checks before it starts: one clear error for bad input. */
export function checkScalerConfig(ctx: Pick<Ctx, 'config'>, opts: { needToken: boolean }): WorkerPool[] {
  const pools = resolveWorkerPools(ctx.config.workerPools, ctx.config.workerPoolDefaults);
  checkScalablePools(pools);
  if (!ctx.config.airflow.databaseUrl) {
    throw new ConfigError(
      'no metadb URL: pass --database-url, set airflow.databaseUrl, or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN. Example: postgresql://windsock_ro:PASSWORD@metadb:5432/airflow',
    );
  }
  if (opts.needToken) {
    if (!ctx.config.http.token) {
      throw new ConfigError(
        'http.token is not set: worker-agents ask the scaler for exit grants with this bearer token (WINDSOCK_HTTP__TOKEN, at least 16 characters); without it no worker could ever leave',
      );
    }
    if (!ctx.config.http.enabled) {
      throw new ConfigError('http.enabled is false: worker-agents reach the scaler over HTTP (/scaler/v1/report)');
    }
  }
  return pools;
}

function metricsFor(ctx: Pick<Ctx, 'config'>, logger: Logger, sinks: MetricSink[]): Metrics {
  return new Metrics({
    namespace: ctx.config.metrics.namespace,
    sinks,
    defaultDimensions: { Cluster: ctx.config.cluster },
    logger,
  });
}

/** What a test or an embedding process may put in place of the configured parts. */
export interface BuildCoordinatorOverrides {
  backends?: Map<string, PoolBackend>;
  extraSinks?: MetricSink[];
  sinks?: MetricSink[];
  withElector?: boolean;
}

/** The coordinator with its readers, backends, metrics and (unless disabled) leader election. */
export function buildCoordinator(
  ctx: Pick<Ctx, 'config' | 'logger' | 'registry'>,
  opts: { dryRun: boolean; needToken: boolean },
  overrides: BuildCoordinatorOverrides = {},
): Coordinator {
  const pools = checkScalerConfig(ctx, { needToken: opts.needToken });
  const { airflow, scaler } = ctx.config;
  const logger = ctx.logger;
  const metadb = new ScalerMetadb({
    databaseUrl: airflow.databaseUrl as string,
    statementTimeoutMs: scaler.statementTimeoutMs,
    version: airflow.version,
    logger,
  });
  const broker = airflow.brokerUrl
    ? new ScalerBroker({
        brokerUrl: airflow.brokerUrl,
        keyPrefix: scaler.brokerKeyPrefix,
        timeoutMs: scaler.brokerTimeoutMs,
        logger,
      })
    : undefined;
  const sinks =
    overrides.sinks ??
    createSinks({
      sinks: ctx.config.metrics.sinks,
      logger,
      registry: ctx.registry,
      cloudwatch: {
        ...(ctx.config.aws.region ? { region: ctx.config.aws.region } : {}),
        ...(ctx.config.aws.endpoint ? { endpoint: ctx.config.aws.endpoint } : {}),
        maxBufferedDatums: ctx.config.metrics.maxBufferedDatums,
      },
      emf: { ...(ctx.config.metrics.emfPath !== '-' ? { path: ctx.config.metrics.emfPath } : {}) },
    });
  const metrics = metricsFor(ctx, logger, [...sinks, ...(overrides.extraSinks ?? [])]);
  const elector =
    overrides.withElector !== false && ctx.config.leader.enabled
      ? new LeaderElector({
          connectionString: airflow.databaseUrl as string,
          name: 'scaler',
          lockId: ctx.config.leader.lockId,
          intervalMs: ctx.config.leader.intervalSeconds * 1000,
          logger,
        })
      : undefined;
  return new Coordinator({
    pools: pools.map((pool) => ({ pool, backend: overrides.backends?.get(pool.name) ?? backendFor(pool) })),
    metadb,
    ...(broker ? { broker } : {}),
    metrics,
    ...(elector ? { elector } : {}),
    logger,
    intervalMs: scaler.intervalSeconds * 1000,
    grantTtlMs: scaler.grantTtlSeconds * 1000,
    reportTtlMs: scaler.reportTtlSeconds * 1000,
    dryRun: opts.dryRun,
    registry: ctx.registry,
  });
}

/** `windsock scaler --once`: one decision per pool, printed; acts (scale-out only) with --apply. */
async function runOnce(ctx: Ctx): Promise<number> {
  const format = String(ctx.options.format ?? 'text');
  if (format !== 'json' && format !== 'text') throw new ConfigError(`--format must be json or text, got "${format}"`);
  const apply = ctx.options.apply === true;
  const chunks: string[] = [];
  const sink = new JsonSnapshotSink({
    stream: { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WritableStream & Writable,
  });
  const coordinator = buildCoordinator(
    ctx,
    { dryRun: !apply, needToken: false },
    { sinks: [sink], withElector: false },
  );
  try {
    const decisions = await coordinator.tick(apply);
    await coordinator.stop();
    if (format === 'json') {
      const snapshot = JSON.parse(chunks.join('') || '{"metrics":[]}') as Record<string, unknown>;
      ctx.stdout.write(`${JSON.stringify({ ...snapshot, decisions: decisions.map(summarise), applied: apply })}\n`);
    } else {
      const lines = decisions.map((d) => {
        const s = summarise(d);
        return `${s.pool}: ${s.action} desired=${s.desired ?? '?'} current=${s.current ?? '?'} busy=${s.busy} demand=${s.demand ?? '?'} - ${s.reason}`;
      });
      ctx.stdout.write(
        `# scaler decision, cluster ${ctx.config.cluster}${apply ? '' : ' (not applied: --apply acts)'}\n${lines.join('\n')}\n`,
      );
    }
    return 0;
  } catch (err) {
    await coordinator.stop().catch(() => undefined);
    throw err;
  }
}

/** `windsock scaler`. */
export const scalerCommand: WindsockCommand = {
  name: 'scaler',
  summary: 'scale Celery worker pools out fast and in only through idle workers leaving (leader-elected)',
  configSection: scalerSection,
  options: [
    { flags: '--database-url <url>', description: 'Airflow metadb (PostgreSQL) URL', configKey: 'airflow.databaseUrl' },
    { flags: '--broker-url <url>', description: 'Celery broker (Redis) URL', configKey: 'airflow.brokerUrl' },
    {
      flags: '--interval <seconds>',
      description: 'seconds between decisions',
      configKey: 'scaler.intervalSeconds',
      parse: 'number',
    },
    { flags: '--dry-run', description: 'decide and log, never act (no workers added, no exits granted)' },
    { flags: '--once', description: 'decide once, print the decision per pool and exit' },
    { flags: '--apply', description: 'with --once: act on the decision (add workers)' },
    { flags: '--format <format>', description: 'with --once: text or json', defaultValue: 'text' },
  ],
  run: async (rawCtx) => {
    const ctx = rawCtx as unknown as Ctx;
    if (ctx.options.once) return runOnce(ctx);
    if (ctx.options.apply) throw new UserError('--apply only applies to --once', 2);
    if (ctx.options.format !== undefined && ctx.options.format !== 'text') {
      throw new UserError('--format only applies to --once', 2);
    }
    const dryRun = ctx.options.dryRun === true;
    return ctx.runServices([buildCoordinator(ctx, { dryRun, needToken: !dryRun })]);
  },
};

/** The agent of `windsock worker-agent`, from the config. */
export function buildAgent(ctx: Pick<AgentCtx, 'config' | 'logger'>, onWorkerGone?: () => void): WorkerAgent {
  const a = ctx.config.workerAgent;
  if (!a.pool)
    throw new ConfigError(
      'workerAgent.pool is not set: the worker pool this worker belongs to (WINDSOCK_WORKER_AGENT__POOL)',
    );
  if (a.coordinatorUrls.length === 0) {
    throw new ConfigError(
      'workerAgent.coordinatorUrls is empty: where the scaler answers, e.g. ["http://scaler:9464"] (WINDSOCK_WORKER_AGENT__COORDINATOR_URLS)',
    );
  }
  if (!ctx.config.http.token) {
    throw new ConfigError(
      'http.token is not set: the agent sends it to the scaler as its bearer token (WINDSOCK_HTTP__TOKEN)',
    );
  }
  if (!ctx.config.airflow.brokerUrl) {
    throw new ConfigError(
      'no broker URL (airflow.brokerUrl, AIRFLOW__CELERY__BROKER_URL): the agent asks the worker over it',
    );
  }
  const host = hostname();
  const redis = new Redis(ctx.config.airflow.brokerUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined);
  const metadb = ctx.config.airflow.databaseUrl
    ? new ScalerMetadb({
        databaseUrl: ctx.config.airflow.databaseUrl,
        statementTimeoutMs: 3000,
        version: ctx.config.airflow.version,
        logger: ctx.logger,
      })
    : undefined;
  const pidFile = a.celeryPidFile;
  return new WorkerAgent({
    pool: a.pool,
    workerId: a.workerId ?? host,
    celeryHostname: a.celeryHostname ?? `celery@${host}`,
    taskHostname: a.taskHostname ?? host,
    ...(a.queues.length ? { queues: a.queues } : {}),
    coordinatorUrls: a.coordinatorUrls,
    token: ctx.config.http.token,
    redis,
    brokerKeyPrefix: a.brokerKeyPrefix,
    ...(metadb ? { runningOnHost: (h: string) => metadb.runningOnHost(h) } : {}),
    ...(pidFile
      ? {
          celeryPid: () => {
            try {
              return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
            } catch {
              return undefined;
            }
          },
        }
      : {}),
    pollMs: a.pollSeconds * 1000,
    settleMs: a.settleSeconds * 1000,
    logger: ctx.logger,
    ...(onWorkerGone ? { onWorkerGone } : {}),
    close: async () => {
      redis.disconnect();
      await metadb?.close();
    },
  });
}

/** `windsock worker-agent`. */
export const workerAgentCommand: WindsockCommand = {
  name: 'worker-agent',
  summary: 'beside a Celery worker: report busy/idle to the scaler and leave warm when granted an exit',
  configSection: workerAgentSection,
  options: [
    { flags: '--broker-url <url>', description: 'Celery broker (Redis) URL', configKey: 'airflow.brokerUrl' },
    { flags: '--pool <name>', description: 'the worker pool', configKey: 'workerAgent.pool' },
    {
      flags: '--coordinator <urls>',
      description: 'scaler URLs, comma-separated',
      configKey: 'workerAgent.coordinatorUrls',
      parse: 'list',
    },
    {
      flags: '--celery-hostname <name>',
      description: "the Celery worker's node name",
      configKey: 'workerAgent.celeryHostname',
    },
  ],
  run: async (rawCtx) => {
    const ctx = rawCtx as unknown as AgentCtx;
    const agent = buildAgent(ctx, () => {
      if (ctx.config.workerAgent.exitWhenWorkerGone) process.kill(process.pid, 'SIGTERM');
    });
    return ctx.runServices([agent]);
  },
};
