import { hostname } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '@windsock/aws';
import { type BaseConfig, ConfigError, type Logger, type Service } from '@windsock/core';
import type { LogShipperConfig } from './config.ts';
import { compileMarkers, type FinishSignal } from './finish.ts';
import type { ShipperMetrics } from './metrics.ts';
import type { LogShipper, LogShipperOptions } from './shipper.ts';

/** Turns the effective config into {@link LogShipperOptions}; throws a ConfigError a user can act on. */
export function shipperOptions(
  config: BaseConfig & { logShipper: LogShipperConfig },
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
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    forcePathStyle: Boolean(config.aws.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
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

/** The long-running log shipper as a lifecycle service (/status shows its backlog). */
export function logShipperService(shipper: LogShipper, logger: Logger): Service {
  return {
    name: 'log-shipper',
    start: () => shipper.start(),
    async stop() {
      await shipper.stop();
      logger.info(shipper.status(), 'log shipper stopped');
    },
    status: () => shipper.status(),
    async readiness() {
      return { journal: true };
    },
  };
}
