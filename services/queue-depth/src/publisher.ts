import type { Logger } from '@windsock/core';
import { type Metrics, prometheusName } from '@windsock/metrics';
import type { Gauge, Registry } from 'prom-client';
import { QUEUE_DEPTH_METRICS, type QueueDepthGauge, type QueueDepthMetricName } from './gauges.ts';

/** Options of {@link QueueDepthPublisher}. */
export interface QueueDepthPublisherOptions {
  metrics: Metrics;
  /** The registry the Prometheus sink writes to, when that sink is on. */
  prometheusRegistry?: Registry;
  logger: Logger;
}

/**
 * Hands each poll's gauges to the metric sinks and sends them at once (CloudWatch: one request per
 * poll for up to 1000 series). Prometheus gauges keep their last value until replaced, so before
 * each poll's values are set, every queue-depth gauge family is cleared: a series the poll did not
 * produce (a failed metadb, a deposed leader) disappears instead of serving a stale depth.
 */
export class QueueDepthPublisher {
  private published = 0;

  constructor(private readonly opts: QueueDepthPublisherOptions) {}

  /** Replace everything published so far with this poll's gauges and flush (without waiting for it). */
  publish(gauges: readonly QueueDepthGauge[]): void {
    // Clearing and setting happen in one synchronous run, so a scrape never sees a half-written poll.
    this.clearPrometheus();
    for (const g of gauges) this.opts.metrics.gauge(g.name, g.dimensions, g.unit).set(g.value);
    this.published += gauges.length;
    void this.opts.metrics.flush();
  }

  /** Stop serving anything (this replica is no longer the leader). */
  retract(): void {
    this.clearPrometheus();
  }

  /** Gauges handed to the sinks since start. */
  publishedCount(): number {
    return this.published;
  }

  private clearPrometheus(): void {
    const registry = this.opts.prometheusRegistry;
    if (!registry) return;
    for (const [name, spec] of Object.entries(QUEUE_DEPTH_METRICS)) {
      const metric = registry.getSingleMetric(prometheusName(name as QueueDepthMetricName, 'gauge', spec.unit));
      (metric as Gauge | undefined)?.reset();
    }
  }
}
