import type { WindsockCommand } from '@windsock/core';
import { queueDepthCommand } from './command.ts';

export { buildPoller, buildService, checkQueueDepthConfig, queueDepthCommand, renderText } from './command.ts';
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

/** The commands this service registers with the `windsock` CLI. */
export const commands: WindsockCommand[] = [queueDepthCommand];
