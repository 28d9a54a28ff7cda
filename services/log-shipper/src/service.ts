import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseS3Url } from '@windsock/airflow';
import { createS3Client } from '@windsock/aws';
import { type BaseConfig, ConfigError, errorMessage, type Logger, type Service, UserError } from '@windsock/core';
import { createSinks, type MetricSink, Metrics } from '@windsock/metrics';
import type { Registry } from 'prom-client';
import type { LogShipperConfig } from './config.ts';
import { compileMarkers, type FinishSignal } from './finish.ts';
import { MetadbFinishSignal } from './metadb-finish.ts';
import { type ShipperMetrics, shipperMetrics } from './metrics.ts';
import { LogShipper, type LogShipperOptions } from './shipper.ts';

/** The config the log shipper reads: the base sections and `logShipper`. */
export type LogShipperFullConfig = BaseConfig & { logShipper: LogShipperConfig };

/** Turns the effective config into {@link LogShipperOptions}; throws a ConfigError a user can act on. */
export function shipperOptions(
  config: LogShipperFullConfig,
  logger: Logger,
  metrics: ShipperMetrics,
  finishSignal?: FinishSignal,
): LogShipperOptions {
  const c = config.logShipper;
  const remote = config.airflow.remoteBaseLogFolder;
  if (!remote) {
    throw new ConfigError(
      'airflow.remoteBaseLogFolder is not set: set AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER=s3://bucket/prefix (the same value the webserver/api-server reads)',
    );
  }
  try {
    parseS3Url(remote);
  } catch (err) {
    throw new ConfigError(`airflow.remoteBaseLogFolder: ${(err as Error).message}`);
  }
  if (c.sse !== 'aws:kms' && c.kmsKeyId)
    throw new ConfigError('logShipper.kmsKeyId is set but logShipper.sse is not aws:kms');
  let endMarkers: RegExp[];
  try {
    endMarkers = compileMarkers(c.endMarkers);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const s3 = createS3Client({
    ...(config.aws.region ? { region: config.aws.region } : {}),
    ...((config.aws.s3Endpoint ?? config.aws.endpoint)
      ? { endpoint: config.aws.s3Endpoint ?? config.aws.endpoint }
      : {}),
    forcePathStyle: Boolean(config.aws.s3Endpoint ?? config.aws.endpoint),
    maxSockets: c.maxConcurrentUploads * 2,
    requestTimeoutMs: c.requestTimeoutSeconds * 1000,
    maxAttempts: 1,
  });
  return {
    s3,
    logger,
    metrics,
    baseLogFolder: config.airflow.baseLogFolder,
    remoteBaseLogFolder: remote,
    taskLogInclude: c.taskLogInclude,
    taskLogExclude: c.taskLogExclude,
    processLogs: c.processLogs,
    stateDir: join(config.stateDir, 'log-shipper'),
    shipperId:
      c.shipperId ??
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 64),
    object: { sse: c.sse, ...(c.kmsKeyId ? { kmsKeyId: c.kmsKeyId } : {}), tags: c.tags },
    retry: { attempts: c.retryAttempts, baseDelayMs: 200, maxDelayMs: 10_000 },
    multipartThresholdBytes: c.multipartThresholdMb * 1024 * 1024,
    partSizeBytes: c.partSizeMb * 1024 * 1024,
    partsInFlight: c.partsInFlight,
    multipartMemoryBytes: c.multipartMemoryMb * 1024 * 1024,
    maxConcurrentUploads: c.maxConcurrentUploads,
    liveIntervalMs: c.liveIntervalSeconds * 1000,
    activePollMs: 1000,
    scanIntervalMs: c.scanIntervalSeconds * 1000,
    watch: c.watch,
    finishQuietMs: c.finishQuietSeconds * 1000,
    endMarkers,
    ...(finishSignal ? { finishSignal } : {}),
    airflowUploads: c.airflowUploads,
    airflowWatchMs: c.airflowWatchSeconds * 1000,
    airflowWatchIntervalMs: 3000,
    deleteAfterShipped: c.deleteAfterShipped,
    retainMs: c.retainSeconds * 1000,
    diskPressureFreeRatio: c.diskPressureFreePercent / 100,
    fsyncJournal: c.fsyncJournal,
  };
}

/** The metrics facade of one process: the configured sinks (plus `extraSinks`), the Cluster dimension. */
export function shipperMetricsFacade(
  config: LogShipperFullConfig,
  logger: Logger,
  registry: Registry,
  extraSinks: readonly MetricSink[] = [],
): Metrics {
  const sinks = createSinks({
    sinks: config.metrics.sinks,
    logger,
    registry,
    cloudwatch: {
      ...(config.aws.region ? { region: config.aws.region } : {}),
      ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
      maxBufferedDatums: config.metrics.maxBufferedDatums,
    },
    emf: config.metrics.emfPath !== '-' ? { path: config.metrics.emfPath } : {},
  });
  return new Metrics({
    namespace: config.metrics.namespace,
    sinks: [...sinks, ...extraSinks],
    defaultDimensions: { Cluster: config.cluster },
    logger,
  });
}

/** The metadb finish signal when `logShipper.finishOnMetadbState` is on; a ConfigError when it cannot be. */
export function metadbFinishSignal(config: LogShipperFullConfig, logger: Logger): FinishSignal | undefined {
  if (!config.logShipper.finishOnMetadbState) return undefined;
  const url = config.airflow.databaseUrl;
  if (!url) {
    throw new ConfigError(
      'logShipper.finishOnMetadbState needs airflow.databaseUrl (or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN): a read-only PostgreSQL URL of the metadb',
    );
  }
  return new MetadbFinishSignal({
    databaseUrl: url,
    version: config.airflow.version,
    ...(config.airflow.logFilenameTemplate ? { logFilenameTemplate: config.airflow.logFilenameTemplate } : {}),
    logger,
  });
}

/**
 * Start-up checks for mistakes that would otherwise look like success or like an outage: a base log
 * folder that does not exist (nothing to ship: `--once` reported `confirmed 0`), and no AWS region
 * (every upload failed and was retried). Each is one {@link ConfigError} naming what to set.
 */
export async function checkStartup(options: Pick<LogShipperOptions, 'baseLogFolder' | 's3'>): Promise<void> {
  const dir = options.baseLogFolder;
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(
        `airflow.baseLogFolder ${JSON.stringify(dir)} does not exist: set --base-log-folder or AIRFLOW__LOGGING__BASE_LOG_FOLDER to the folder Airflow writes task logs into`,
      );
    }
    throw new UserError(`cannot read airflow.baseLogFolder ${JSON.stringify(dir)}: ${errorMessage(err)}`);
  }
  if (!st.isDirectory()) {
    throw new ConfigError(
      `airflow.baseLogFolder ${JSON.stringify(dir)} is not a folder: set --base-log-folder or AIRFLOW__LOGGING__BASE_LOG_FOLDER to the folder Airflow writes task logs into`,
    );
  }
  try {
    await options.s3.config.region();
  } catch {
    throw new ConfigError(
      "no AWS region for S3: set aws.region (WINDSOCK_AWS__REGION) or AWS_REGION to the log bucket's region",
    );
  }
}

/** What {@link buildLogShipper} makes; `close()` flushes metrics and closes the metadb pool. */
export interface LogShipperParts {
  /** The options the shipper was built with (start-up checks read them). */
  options: LogShipperOptions;
  shipper: LogShipper;
  metrics: Metrics;
  finishSignal: FinishSignal | undefined;
  close(): Promise<void>;
}

/** The shipper of one process, wired from the config the way the CLI does it. */
export function buildLogShipper(
  ctx: { config: LogShipperFullConfig; logger: Logger; registry: Registry },
  overrides: { extraSinks?: readonly MetricSink[]; options?: Partial<LogShipperOptions> } = {},
): LogShipperParts {
  const metrics = shipperMetricsFacade(ctx.config, ctx.logger, ctx.registry, overrides.extraSinks);
  const finishSignal = metadbFinishSignal(ctx.config, ctx.logger);
  const options: LogShipperOptions = {
    ...shipperOptions(ctx.config, ctx.logger, shipperMetrics(metrics), finishSignal),
    ...overrides.options,
  };
  const shipper = new LogShipper(options);
  return {
    options,
    shipper,
    metrics,
    finishSignal,
    async close() {
      await finishSignal?.close?.();
      await metrics.close();
    },
  };
}

/** The long-running log shipper as a lifecycle service: metrics flushed every interval and on stop. */
export function logShipperService(parts: LogShipperParts, flushIntervalMs: number, logger: Logger): Service {
  const { shipper } = parts;
  return {
    name: 'log-shipper',
    async start() {
      await shipper.start();
      parts.metrics.startAutoFlush(flushIntervalMs);
    },
    async stop() {
      await shipper.stop();
      await parts.close();
      logger.info(shipper.status(), 'log shipper stopped');
    },
    status: () => shipper.status(),
    async readiness() {
      return { journal: true };
    },
  };
}
