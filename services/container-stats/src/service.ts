/** The long-running container-stats service: discovery, a 1 s sampling job, /metrics, the page and the API. */
import { type ExtraRoute, type Logger, PeriodicJob, type Service } from '@windsock/core';
import type { Registry } from 'prom-client';
import type { CloudWatchAggregates } from './aggregates.ts';
import { apiRoutes } from './api.ts';
import type { Collector } from './collector.ts';
import { registerCadvisorMetrics } from './prometheus.ts';

/** Options of {@link ContainerStatsService}. */
export interface ContainerStatsServiceOptions {
  collector: Collector;
  intervalMs: number;
  logger: Logger;
  registry: Registry;
  aggregates?: CloudWatchAggregates;
}

/** Samples every container each interval and serves what it saw. */
export class ContainerStatsService implements Service {
  readonly name = 'container-stats';
  private readonly job: PeriodicJob;
  private unregister?: () => void;
  private ticked = false;

  constructor(private readonly opts: ContainerStatsServiceOptions) {
    this.job = new PeriodicJob({
      name: 'container-stats-sample',
      intervalMs: opts.intervalMs,
      run: async () => {
        await opts.collector.tick();
        opts.aggregates?.observe(opts.collector);
        this.ticked = true;
      },
      logger: opts.logger,
    });
  }

  async start(): Promise<void> {
    this.unregister = registerCadvisorMetrics(this.opts.registry, this.opts.collector);
    await this.opts.collector.start();
    this.job.start();
  }

  async stop(): Promise<void> {
    await this.job.stop();
    await this.opts.aggregates?.close();
    await this.opts.collector.stop();
    this.unregister?.();
  }

  async readiness(): Promise<Record<string, true | string>> {
    if (!this.ticked) return { sampling: 'not sampled yet' };
    const d = this.opts.collector.status().discovery as { connected?: boolean; lastError?: string };
    return {
      sampling: true,
      discovery: d.connected === false ? `disconnected: ${d.lastError ?? 'unknown'}` : true,
    };
  }

  status(): unknown {
    return { ...this.opts.collector.status(), job: this.job.stats };
  }

  routes(): ExtraRoute[] {
    return apiRoutes(this.opts.collector);
  }
}
