import type { BaseConfig, WindsockCommand } from '@windsock/core';
import { type LogShipperConfig, logShipperSection } from './config.ts';
import { prometheusShipperMetrics } from './metrics.ts';
import { logShipperService, shipperOptions } from './service.ts';
import { LogShipper } from './shipper.ts';

export { type LogShipperConfig, logShipperSection } from './config.ts';
export { DEFAULT_END_MARKERS } from './finish.ts';
export { ShipJournal, type ShipRecord } from './journal.ts';
export { noShipperMetrics, prometheusShipperMetrics, type ShipperMetrics } from './metrics.ts';
export { type RemoteRelation, relateRemote } from './reconcile.ts';
export { airflowS3Key, siblingKey, type TaskLogKey } from './remote-key.ts';
export { shipperOptions } from './service.ts';
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
    const config = ctx.config as BaseConfig & { logShipper: LogShipperConfig };
    const metrics = prometheusShipperMetrics(ctx.registry);
    const shipper = new LogShipper(shipperOptions(config, ctx.logger, metrics));
    if (ctx.options.once) {
      const result = await shipper.runOnce();
      ctx.logger.info({ confirmed: result.confirmed, failed: result.failed.length }, 'log-shipper --once finished');
      for (const path of result.failed) ctx.stderr.write(`not confirmed: ${path}\n`);
      return result.failed.length === 0 ? 0 : 1;
    }
    return ctx.runServices([logShipperService(shipper, ctx.logger)]);
  },
};

/** The commands this service registers with the `windsock` CLI. */
export const commands: WindsockCommand[] = [logShipper];
