import { queueLengths, UNACKED_KEY } from '@windsock/airflow';
import { errorMessage, type Logger } from '@windsock/core';
import { Redis } from 'ioredis';

/** What one poll reads from the Celery broker. */
export interface BrokerReading {
  /** Waiting messages per queue (all of kombu's priority LISTs). */
  queueLengths: Map<string, number>;
  /** Messages taken by workers and not yet acknowledged, all queues. */
  unacked: number;
}

/** Options of {@link BrokerReader}. */
export interface BrokerReaderOptions {
  brokerUrl: string;
  /** kombu's `global_keyprefix` ('' by default). */
  keyPrefix: string;
  /** Bound on connecting and on each read. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Reads queue lengths from Celery's Redis. Commands fail at once while Redis is away (no offline
 * queue, so a poll never waits on a dead broker), and ioredis reconnects in the background, so the
 * broker recovers by itself without a restart.
 */
export class BrokerReader {
  private readonly redis: Redis;
  /** The connection's own last error: ioredis rejects commands with a bare "Connection is closed". */
  private lastConnectionError?: string;

  constructor(private readonly opts: BrokerReaderOptions) {
    this.redis = new Redis(opts.brokerUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: opts.timeoutMs,
      commandTimeout: opts.timeoutMs,
      // Keep trying forever, at most every 5 s: the broker coming back must need no restart of ours.
      retryStrategy: (times) => Math.min(250 * times, 5000),
      connectionName: 'windsock-queue-depth',
    });
    // Without a listener ioredis prints every reconnect failure; the poll reports the outage once.
    this.redis.on('error', (err) => {
      this.lastConnectionError = errorMessage(err);
      opts.logger.debug({ err: this.lastConnectionError }, 'broker connection error');
    });
    this.redis.on('ready', () => {
      this.lastConnectionError = undefined;
    });
  }

  /** Queue lengths of `queues` and the unacked count; throws when Redis does not answer. */
  async read(queues: readonly string[]): Promise<BrokerReading> {
    try {
      if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
    } catch (err) {
      throw new Error(this.lastConnectionError ?? errorMessage(err));
    }
    if (this.redis.status !== 'ready') {
      const why = this.lastConnectionError ?? 'connection lost';
      throw new Error(`no connection to the broker: ${why} (reconnecting in the background)`);
    }
    const lengths = await queueLengths(this.redis, queues, { globalKeyprefix: this.opts.keyPrefix });
    const unacked = await this.redis.hlen(this.opts.keyPrefix + UNACKED_KEY);
    // queueLengths counts a failed LLEN as 0; a connection lost mid-read must not look like empty queues.
    if (this.redis.status !== 'ready') throw new Error(`broker connection lost during the read (${this.redis.status})`);
    return { queueLengths: lengths, unacked };
  }

  /** Close the connection. */
  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
