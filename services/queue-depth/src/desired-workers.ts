/**
 * DesiredWorkers' formula lives in @windsock/scaling (the scaler uses it too): demand = running +
 * max(queued, broker backlog) over the pool's queues, desired = clamp(ceil(demand / concurrency),
 * min, max). queue-depth passes queued and running only, so for it demand = queued + running.
 */
export { desiredWorkers, type QueueDemand } from '@windsock/scaling';
