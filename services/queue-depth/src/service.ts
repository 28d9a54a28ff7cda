import { type LeaderElector, type Logger, PeriodicJob, type Service } from '@windsock/core';
import type { Metrics } from '@windsock/metrics';
import type { Registry } from 'prom-client';
import type { BrokerReader } from './broker-reader.ts';
import type { MetadbReader } from './metadb-reader.ts';
import type { QueueDepthPoller } from './poller.ts';
import type { QueueDepthPublisher } from './publisher.ts';

/** Options of {@link QueueDepthService}. */
export interface QueueDepthServiceOptions {
  poller: QueueDepthPoller;
  publisher: QueueDepthPublisher;
  metrics: Metrics;
  metadb: MetadbReader;
  broker?: BrokerReader;
  /** Absent when leader election is off (`leader.enabled: false`): this process always publishes. */
  elector?: LeaderElector;
  intervalMs: number;
  logger: Logger;
  registry?: Registry;
}

/** What this replica did in its last interval. */
type Role = 'starting' | 'leader' | 'follower' | 'metadb-unreachable';

/**
 * The long-running queue-depth service: a poll every interval (never overlapping). Only the leader
 * reads and publishes, so two replicas publish once; a follower checks that the metadb answers and
 * publishes nothing. While nobody can reach the metadb nobody holds the lock either, so every
 * replica that cannot reach it publishes `MetadbUp = 0` (identical values, harmless twice) and
 * nothing else.
 */
export class QueueDepthService implements Service {
  readonly name = 'queue-depth';
  private readonly job: PeriodicJob;
  private role: Role = 'starting';

  constructor(private readonly opts: QueueDepthServiceOptions) {
    this.job = new PeriodicJob({
      name: 'queue-depth-poll',
      intervalMs: opts.intervalMs,
      run: () => this.tick(),
      logger: opts.logger,
      ...(opts.registry ? { registry: opts.registry } : {}),
    });
  }

  async start(): Promise<void> {
    await this.opts.elector?.start();
    this.job.start();
  }

  async stop(): Promise<void> {
    await this.job.stop();
    await this.opts.elector?.stop();
    this.opts.publisher.retract();
    await this.opts.metrics.close();
    await this.opts.metadb.close();
    await this.opts.broker?.close();
  }

  /** Ready once the first poll ran; a follower is ready too (it takes over when the leader goes). */
  async readiness(): Promise<Record<string, true | string>> {
    const s = this.opts.poller.status();
    if (s.metadb.up === null) return { metadb: 'not polled yet' };
    const out: Record<string, true | string> = {
      metadb: s.metadb.up ? true : `unreachable: ${s.metadb.lastError ?? 'unknown error'}`,
    };
    if (s.broker && this.role === 'leader') {
      out.broker = s.broker.up !== false ? true : `unreachable: ${s.broker.lastError ?? 'unknown error'}`;
    }
    return out;
  }

  status(): unknown {
    return {
      role: this.role,
      ...this.opts.poller.status(),
      ...(this.opts.elector ? { leader: this.opts.elector.status() } : {}),
      job: this.job.stats,
      publishedGauges: this.opts.publisher.publishedCount(),
    };
  }

  /** One interval: poll and publish as leader, or check the metadb as follower. */
  async tick(): Promise<void> {
    const { elector, poller, publisher } = this.opts;
    if (!elector || elector.isLeader()) {
      const snapshot = await poller.poll();
      // Publishing twice doubles every sum on a dashboard: confirm the lock is still ours first.
      if (elector && !(await elector.confirm())) {
        this.setRole(poller.metadbOutage.isUp() === false ? 'metadb-unreachable' : 'follower');
        publisher.retract();
        if (poller.metadbOutage.isUp() === false)
          publisher.publish(snapshot.gauges.filter((g) => g.name === 'MetadbUp'));
        return;
      }
      this.setRole('leader');
      publisher.publish(snapshot.gauges);
      return;
    }
    if (await poller.probeMetadb()) {
      this.setRole('follower');
      publisher.retract();
      return;
    }
    this.setRole('metadb-unreachable');
    publisher.publish([{ name: 'MetadbUp', unit: 'None', dimensions: {}, value: 0 }]);
  }

  private setRole(role: Role): void {
    if (role === this.role) return;
    const from = this.role;
    this.role = role;
    // The outage itself is logged once by the poller; this only tells who publishes.
    if (role === 'leader') this.opts.logger.info({ role, from }, 'publishing queue depth as the leader');
    else if (role === 'follower') {
      this.opts.logger.info(
        { role, from },
        'not holding the queue-depth lock: publishing nothing (another replica publishes, or this one takes the lock when it is free)',
      );
    } else this.opts.logger.debug({ role, from }, 'metadb unreachable: publishing only MetadbUp = 0');
  }
}
