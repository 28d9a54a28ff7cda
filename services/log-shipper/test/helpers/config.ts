/** The real config path (schema, defaults, validation) for tests: dotted keys as the CLI's flags give them. */
import { loadConfig } from '@windsock/core';
import { logShipperSection } from '../../src/config.ts';
import type { LogShipperFullConfig } from '../../src/service.ts';
import type { ShipperFixture } from './harness.ts';

/** The effective config for a fixture (its folders and bucket) plus `values`, e.g. `{ 'metrics.sinks': ['cloudwatch'] }`. */
export function testConfig(fx: ShipperFixture, values: Record<string, unknown> = {}): LogShipperFullConfig {
  return loadConfig({
    sections: [logShipperSection],
    env: {},
    flags: {
      stateDir: fx.state,
      'airflow.baseLogFolder': fx.base,
      'airflow.remoteBaseLogFolder': `s3://${fx.bucket}/logs`,
      'logShipper.watch': false,
      'logShipper.scanIntervalSeconds': 1,
      'logShipper.liveIntervalSeconds': 0.5,
      ...values,
    },
  }).config as LogShipperFullConfig;
}
