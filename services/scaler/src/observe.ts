/**
 * What the coordinator reads each poll: per queue, task instances queued and running (the metadb)
 * and messages waiting (the broker); per worker host, running task instances (a worker with any is
 * busy). The metadb is read in one READ ONLY transaction with a statement_timeout.
 */
import {
  type AirflowSchemaVersion,
  countTaskInstancesByQueueAndState,
  detectAirflowSchemaVersion,
  queueLengths,
  runningTasksByHostname,
} from '@windsock/airflow';
import { errorMessage, type Logger } from '@windsock/core';
import type { QueueDemand } from '@windsock/scaling';
import { Redis } from 'ioredis';
import pg from 'pg';

/** One poll's reading of the metadb. */
export interface MetadbDemand {
  /** queue -> queued and running task instances. */
  byQueue: Map<string, QueueDemand>;
  /** task_instance.hostname -> running task instances on it. */
  runningByHost: Map<string, number>;
}

export class ScalerMetadb {
  private readonly pool: pg.Pool;
  private version?: AirflowSchemaVersion;

  constructor(
    private readonly opts: {
      databaseUrl: string;
      statementTimeoutMs: number;
      version: 'auto' | '2' | '3';
      logger: Logger;
    },
  ) {
    this.pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 2,
      connectionTimeoutMillis: opts.statementTimeoutMs,
      query_timeout: opts.statementTimeoutMs + 2000,
      application_name: 'windsock-scaler',
    });
    this.pool.on('error', (err) => opts.logger.debug({ err: errorMessage(err) }, 'idle metadb connection closed'));
    if (opts.version !== 'auto') this.version = opts.version === '2' ? '2.10' : '3';
  }

  async read(): Promise<MetadbDemand> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(this.opts.statementTimeoutMs)}`,
      );
      this.version ??= await detectAirflowSchemaVersion(client);
      const counts = await countTaskInstancesByQueueAndState(client, ['queued', 'running']);
      const hosts = await runningTasksByHostname(client, this.version);
      await client.query('COMMIT');
      const byQueue = new Map<string, QueueDemand>();
      for (const c of counts) {
        if (c.queue === null) continue;
        const d = byQueue.get(c.queue) ?? { queued: 0, running: 0 };
        if (c.state === 'queued') d.queued += c.count;
        else d.running += c.count;
        byQueue.set(c.queue, d);
      }
      const runningByHost = new Map<string, number>();
      for (const h of hosts) {
        if (!h.hostname) continue;
        runningByHost.set(h.hostname, (runningByHost.get(h.hostname) ?? 0) + h.running);
      }
      return { byQueue, runningByHost };
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** Running task instances on one host (the worker-agent's second opinion). */
  async runningOnHost(hostname: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM task_instance WHERE state IN ('running', 'queued') AND hostname = $1",
      [hostname],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

/** Broker backlog per queue (kombu's LISTs); a failure is logged and reads as "unknown". */
export class ScalerBroker {
  private readonly redis: Redis;

  constructor(private readonly opts: { brokerUrl: string; keyPrefix: string; timeoutMs: number; logger: Logger }) {
    this.redis = new Redis(opts.brokerUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: opts.timeoutMs,
      commandTimeout: opts.timeoutMs,
      enableOfflineQueue: true,
    });
    this.redis.on('error', () => undefined);
  }

  async backlog(queues: readonly string[]): Promise<Map<string, number> | null> {
    try {
      return await queueLengths(this.redis, queues, { globalKeyprefix: this.opts.keyPrefix });
    } catch (err) {
      this.opts.logger.warn({ err: errorMessage(err) }, 'broker unreadable: sizing on the metadb alone');
      return null;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
