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
  resolveWorkerPools,
  type WorkerPoolConfig as ScalingPoolConfig,
  type WorkerPoolDefaults,
} from '@windsock/scaling';
import type { Registry } from 'prom-client';
import { BrokerReader } from './broker-reader.ts';
import { type QueueDepthConfig, queueDepthSection, type WorkerPoolConfig } from './config.ts';
import type { QueueDepthGauge } from './gauges.ts';
import { MetadbReader } from './metadb-reader.ts';
import { QueueDepthPoller } from './poller.ts';
import { QueueDepthPublisher } from './publisher.ts';
import { QueueDepthService } from './service.ts';

type Ctx = CommandContext<{ queueDepth: QueueDepthConfig }>;
/** The shared sections queueDepth uses (registered through its `uses`). */
type PoolsConfig = { workerPools: ScalingPoolConfig[]; workerPoolDefaults: WorkerPoolDefaults };

/**
 * The top-level worker pools with defaults filled in, after the checks the schema cannot make (a
 * queue in two pools would be counted twice): one ConfigError naming the key.
 */
export function checkQueueDepthConfig(cfg: PoolsConfig): WorkerPoolConfig[] {
  return resolveWorkerPools(cfg.workerPools, cfg.workerPoolDefaults);
}

/** The readers and poller of one process, built from the config. */
export function buildPoller(ctx: Pick<Ctx, 'config' | 'logger'>, clock?: () => Date) {
  const { airflow, queueDepth } = ctx.config;
  if (!airflow.databaseUrl) {
    throw new ConfigError(
      'no metadb URL: pass --database-url, set airflow.databaseUrl, or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN. Example: postgresql://windsock_ro:PASSWORD@metadb:5432/airflow',
    );
  }
  const workerPools = checkQueueDepthConfig(ctx.config as unknown as PoolsConfig);
  const metadb = new MetadbReader({
    databaseUrl: airflow.databaseUrl,
    statementTimeoutMs: queueDepth.statementTimeoutMs,
    version: airflow.version,
    logger: ctx.logger,
  });
  const broker = airflow.brokerUrl
    ? new BrokerReader({
        brokerUrl: airflow.brokerUrl,
        keyPrefix: queueDepth.brokerKeyPrefix,
        timeoutMs: queueDepth.brokerTimeoutMs,
        logger: ctx.logger,
      })
    : undefined;
  if (!broker)
    ctx.logger.warn('no broker URL (airflow.brokerUrl, AIRFLOW__CELERY__BROKER_URL): broker metrics are off');
  const poller = new QueueDepthPoller({
    metadb,
    ...(broker ? { broker } : {}),
    config: { ...queueDepth, workerPools },
    logger: ctx.logger,
    ...(clock ? { clock } : {}),
  });
  return { metadb, broker, poller };
}

function metricsFor(ctx: Pick<Ctx, 'config' | 'logger'>, sinks: MetricSink[]): Metrics {
  return new Metrics({
    namespace: ctx.config.metrics.namespace,
    sinks,
    defaultDimensions: { Cluster: ctx.config.cluster },
    logger: ctx.logger,
  });
}

/** `windsock queue-depth --once`: one poll, printed, no leader election, no sinks. */
async function runOnce(ctx: Ctx): Promise<number> {
  const format = String(ctx.options.format ?? 'text');
  if (format !== 'json' && format !== 'text') throw new ConfigError(`--format must be json or text, got "${format}"`);
  const { metadb, broker, poller } = buildPoller(ctx);
  try {
    const snapshot = await poller.poll();
    if (format === 'json') {
      const sink = new JsonSnapshotSink({
        stream: ctx.stdout as NodeJS.WritableStream & import('node:stream').Writable,
      });
      const metrics = metricsFor(ctx, [sink]);
      for (const g of snapshot.gauges) metrics.gauge(g.name, g.dimensions, g.unit).set(g.value);
      await metrics.close();
    } else {
      ctx.stdout.write(renderText(snapshot.gauges, ctx.config.cluster));
    }
    // The snapshot is printed either way (with its up = 0 gauges); the exit code says whether
    // every source it needed answered.
    const failed = [
      ['metadb', 'MetadbUp', poller.metadbOutage.status()],
      ['broker', 'BrokerUp', poller.brokerOutage?.status()],
    ] as const;
    let code = 0;
    for (const [name, metric, status] of failed) {
      if (status?.up !== false) continue;
      ctx.stderr.write(
        `queue-depth --once: the ${name} did not answer (${metric} = 0): ${status.lastError ?? 'unknown error'}\n`,
      );
      code = 1;
    }
    return code;
  } finally {
    await metadb.close();
    await broker?.close();
  }
}

/** A human-readable snapshot: one metric per line, sorted like the JSON. */
export function renderText(gauges: readonly QueueDepthGauge[], cluster: string): string {
  const lines = gauges.map((g) => {
    const dims = Object.entries(g.dimensions)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const value = Number.isInteger(g.value) ? String(g.value) : g.value.toFixed(1);
    return `${g.name}${dims ? ` ${dims}` : ''} ${value}${g.unit === 'Seconds' ? 's' : ''}`;
  });
  lines.sort();
  return `# queue depth, cluster ${cluster}\n${lines.join('\n')}\n`;
}

/** What a test or an embedding process may put in place of the configured parts. */
export interface BuildServiceOverrides {
  /** The instant ages are measured at. */
  clock?: () => Date;
  /** Extra sinks beside the configured ones (a test's recorder). */
  extraSinks?: MetricSink[];
}

/** The long-running service with the configured sinks and leader election. */
export function buildService(
  ctx: Pick<Ctx, 'config' | 'logger' | 'registry'>,
  overrides: BuildServiceOverrides = {},
): QueueDepthService {
  const { metadb, broker, poller } = buildPoller(ctx, overrides.clock);
  const logger: Logger = ctx.logger;
  const registry: Registry = ctx.registry;
  const configured = createSinks({
    sinks: ctx.config.metrics.sinks,
    logger,
    registry,
    cloudwatch: {
      ...(ctx.config.aws.region ? { region: ctx.config.aws.region } : {}),
      ...(ctx.config.aws.endpoint ? { endpoint: ctx.config.aws.endpoint } : {}),
      maxBufferedDatums: ctx.config.metrics.maxBufferedDatums,
    },
    emf: { ...(ctx.config.metrics.emfPath !== '-' ? { path: ctx.config.metrics.emfPath } : {}) },
  });
  const metrics = metricsFor(ctx, [...configured, ...(overrides.extraSinks ?? [])]);
  const publisher = new QueueDepthPublisher({
    metrics,
    ...(ctx.config.metrics.sinks.includes('prometheus') ? { prometheusRegistry: registry } : {}),
    logger,
  });
  const elector = ctx.config.leader.enabled
    ? new LeaderElector({
        connectionString: ctx.config.airflow.databaseUrl as string,
        name: 'queue-depth',
        lockId: ctx.config.leader.lockId,
        intervalMs: ctx.config.leader.intervalSeconds * 1000,
        logger,
      })
    : undefined;
  return new QueueDepthService({
    poller,
    publisher,
    metrics,
    metadb,
    ...(broker ? { broker } : {}),
    ...(elector ? { elector } : {}),
    intervalMs: ctx.config.queueDepth.intervalSeconds * 1000,
    logger,
    registry,
  });
}

/** `windsock queue-depth`. */
export const queueDepthCommand: WindsockCommand = {
  name: 'queue-depth',
  summary: 'publish task instances per queue/state/pool, backlog age, broker depth and desired workers',
  configSection: queueDepthSection,
  options: [
    { flags: '--database-url <url>', description: 'Airflow metadb (PostgreSQL) URL', configKey: 'airflow.databaseUrl' },
    { flags: '--broker-url <url>', description: 'Celery broker (Redis) URL', configKey: 'airflow.brokerUrl' },
    {
      flags: '--queues <list>',
      description: 'queues that always get a value, comma-separated',
      configKey: 'queueDepth.queues',
      parse: 'list',
    },
    {
      flags: '--interval <seconds>',
      description: 'seconds between polls',
      configKey: 'queueDepth.intervalSeconds',
      parse: 'number',
    },
    {
      flags: '--once',
      description:
        'poll once, print the snapshot and exit: 0 when the metadb (and the broker, if configured) answered, 1 when one did not (the snapshot is still printed, with its up gauge 0), 2 on a config error',
    },
    { flags: '--format <format>', description: 'with --once: text or json', defaultValue: 'text' },
  ],
  run: async (rawCtx) => {
    const ctx = rawCtx as unknown as Ctx;
    if (ctx.options.once) return runOnce(ctx);
    if (ctx.options.format !== undefined && ctx.options.format !== 'text') {
      throw new UserError('--format only applies to --once', 2);
    }
    return ctx.runServices([buildService(ctx)]);
  },
};
