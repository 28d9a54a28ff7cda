/** Builds the real queue-depth service from a config, the way the CLI does, for tests. */
import { type BaseConfig, type Logger, loadConfig } from '@windsock/core';
import type { MetricSink } from '@windsock/metrics';
import { Registry } from 'prom-client';
import { buildService } from '../../src/command.ts';
import { type QueueDepthConfig, queueDepthSection } from '../../src/config.ts';
import type { QueueDepthService } from '../../src/service.ts';

/** Config as dotted keys (like CLI flags), e.g. `{ 'airflow.databaseUrl': url }`. */
export function testConfig(values: Record<string, unknown>): BaseConfig & { queueDepth: QueueDepthConfig } {
  return loadConfig({ sections: [queueDepthSection], env: {}, flags: values }).config as BaseConfig & {
    queueDepth: QueueDepthConfig;
  };
}

/** The service with the config's sinks plus `extraSinks`, and its Prometheus registry. */
export function testService(
  values: Record<string, unknown>,
  logger: Logger,
  extraSinks: MetricSink[] = [],
): { service: QueueDepthService; registry: Registry } {
  const registry = new Registry();
  const config = testConfig(values);
  return { service: buildService({ config, logger, registry }, { extraSinks }), registry };
}
