/**
 * @windsock/queue-depth. The `windsock` CLI imports this module for every command it runs, so it
 * re-exports only modules without heavy dependencies: the command's own code (command.ts, with pg,
 * ioredis and the metric sinks) is loaded by `commands[0].load()` when `windsock queue-depth` runs.
 */
import type { CommandRegistration } from '@windsock/core';
import { queueDepthSection } from './config.ts';

export type { BuildServiceOverrides } from './command.ts';
export { type QueueDepthConfig, queueDepthSection, type WorkerPoolConfig } from './config.ts';
export { desiredWorkers, type QueueDemand } from './desired-workers.ts';
export {
  NO_QUEUE,
  pollGauges,
  QUEUE_DEPTH_METRICS,
  type QueueDepthGauge,
  type QueueDepthMetricName,
} from './gauges.ts';
export { QueueDepthPoller, type QueueDepthSnapshot } from './poller.ts';
export { QueueDepthService } from './service.ts';

/** The commands this service registers with the `windsock` CLI (loaded when run). */
export const commands: CommandRegistration[] = [
  {
    name: 'queue-depth',
    summary: 'publish task instances per queue/state/pool, backlog age, broker depth and desired workers',
    configSection: queueDepthSection,
    load: async () => (await import('./command.ts')).queueDepthCommand,
  },
];
