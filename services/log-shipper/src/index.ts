/**
 * @windsock/log-shipper. The `windsock` CLI imports this module for every command it runs, so it
 * re-exports at run time only modules without heavy dependencies; the shipper itself (chokidar, pg,
 * the S3 client, the metric sinks) is imported when `windsock log-shipper` runs, and is exported
 * here as types.
 */
import type { WindsockCommand } from '@windsock/core';
import { logShipperSection } from './config.ts';
import type { LogShipperFullConfig } from './service.ts';

export { type LogShipperConfig, logShipperSection } from './config.ts';
export { DEFAULT_END_MARKERS, type FinishSignal } from './finish.ts';
export { ShipJournal, type ShipRecord } from './journal.ts';
export type { MetadbFinishSignal, MetadbFinishSignalOptions } from './metadb-finish.ts';
export {
  type FailureClass,
  noShipperMetrics,
  SHIPPER_METRICS,
  type ShipperMetricSpec,
  type ShipperMetrics,
  shipperMetrics,
} from './metrics.ts';
export { type RemoteRelation, relateRemote } from './reconcile.ts';
export { siblingKey } from './remote-key.ts';
export type { LogShipperFullConfig, LogShipperParts } from './service.ts';
export type { LogShipper, LogShipperOptions, UploadedEvent } from './shipper.ts';

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
    const { buildLogShipper, checkStartup, logShipperService } = await import('./service.ts');
    const config = ctx.config as LogShipperFullConfig;
    const parts = buildLogShipper({ config, logger: ctx.logger, registry: ctx.registry });
    try {
      await checkStartup(parts.options);
    } catch (err) {
      await parts.close();
      throw err;
    }
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
