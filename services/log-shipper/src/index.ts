import type { WindsockCommand } from '@windsock/core';
import { logShipperSection } from './config.ts';
import { buildLogShipper, type LogShipperFullConfig, logShipperService } from './service.ts';

export { type LogShipperConfig, logShipperSection } from './config.ts';
export { DEFAULT_END_MARKERS, type FinishSignal } from './finish.ts';
export { ShipJournal, type ShipRecord } from './journal.ts';
export { MetadbFinishSignal, type MetadbFinishSignalOptions } from './metadb-finish.ts';
export {
  type FailureClass,
  noShipperMetrics,
  SHIPPER_METRICS,
  type ShipperMetricSpec,
  type ShipperMetrics,
  shipperMetrics,
} from './metrics.ts';
export { type RemoteRelation, relateRemote } from './reconcile.ts';
export { airflowS3Key, siblingKey, type TaskLogKey } from './remote-key.ts';
export {
  buildLogShipper,
  type LogShipperFullConfig,
  type LogShipperParts,
  logShipperService,
  metadbFinishSignal,
  shipperMetricsFacade,
  shipperOptions,
} from './service.ts';
export { LogShipper, type LogShipperOptions, type UploadedEvent } from './shipper.ts';

const logShipper: WindsockCommand = {
  name: 'log-shipper',
  summary: "Ship Airflow task logs to S3 where Airflow's UI reads them, live and lossless",
  configSection: logShipperSection,
  options: [
    { flags: '--once', description: 'Ship everything present, wait until it is confirmed, exit (0 only if all is)' },
    { flags: '--base-log-folder <dir>', description: "Airflow's base_log_folder", configKey: 'airflow.baseLogFolder' },
    {
      flags: '--remote-base-log-folder <url>',
      description: "Airflow's remote_base_log_folder (s3://bucket/prefix)",
      configKey: 'airflow.remoteBaseLogFolder',
    },
  ],
  async run(ctx) {
    const config = ctx.config as LogShipperFullConfig;
    const parts = buildLogShipper({ config, logger: ctx.logger, registry: ctx.registry });
    if (ctx.options.once) {
      let result: { confirmed: number; failed: string[] };
      try {
        result = await parts.shipper.runOnce();
      } finally {
        await parts.close();
      }
      ctx.logger.info({ confirmed: result.confirmed, failed: result.failed.length }, 'log-shipper --once finished');
      for (const path of result.failed) ctx.stderr.write(`not confirmed: ${path}\n`);
      return result.failed.length === 0 ? 0 : 1;
    }
    return ctx.runServices([logShipperService(parts, config.metrics.flushIntervalSeconds * 1000, ctx.logger)]);
  },
};

/** The commands this service registers with the `windsock` CLI. */
export const commands: WindsockCommand[] = [logShipper];
