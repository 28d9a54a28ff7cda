import {
  type AirflowSchemaVersion,
  detectAirflowSchemaVersion,
  newestSchedulerHeartbeat,
  type OldestQueuedTask,
  type PoolSlots,
  type PoolStateCount,
  type QueueStateCount,
  readActiveTaskInstances,
  type SchedulerHeartbeat,
  summariseActiveTaskInstances,
} from '@windsock/airflow';
import { errorMessage, type Logger } from '@windsock/core';
import pg from 'pg';

/** Everything one poll reads from the metadb, from one consistent snapshot of it. */
export interface MetadbReading {
  schemaVersion: AirflowSchemaVersion;
  byQueueAndState: QueueStateCount[];
  byPoolAndState: PoolStateCount[];
  oldestQueued: OldestQueuedTask[];
  /** Null when no scheduler ever heartbeated. */
  scheduler: SchedulerHeartbeat | null;
  pools: PoolSlots[];
}

/** Options of {@link MetadbReader}. */
export interface MetadbReaderOptions {
  databaseUrl: string;
  /** `statement_timeout` of the poll transaction. */
  statementTimeoutMs: number;
  /** `auto` detects the schema from the metadb's columns. */
  version: 'auto' | '2' | '3';
  logger: Logger;
}

/**
 * Reads queue depth from Airflow's metadb through a pool of at most two connections, in a
 * REPEATABLE READ, READ ONLY transaction (all numbers of one poll come from one snapshot, and the
 * service cannot write even if its role could) with a `statement_timeout`, so a slow database turns
 * into a failed poll instead of a pile of waiting queries.
 */
export class MetadbReader {
  private readonly pool: pg.Pool;
  private detected?: AirflowSchemaVersion;

  constructor(private readonly opts: MetadbReaderOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: 2,
      idleTimeoutMillis: 60_000,
      connectionTimeoutMillis: opts.statementTimeoutMs,
      // The server enforces statement_timeout; this client-side bound covers a network black hole,
      // where the server's cancel never reaches us.
      query_timeout: opts.statementTimeoutMs + 2000,
      application_name: 'windsock-queue-depth',
      keepAlive: true,
      // A poll writes its statements without waiting for each answer (see read()).
      pipeline: true,
    });
    // An idle connection dies when PostgreSQL restarts; the pool drops it and the next poll reconnects.
    this.pool.on('error', (err) => opts.logger.debug({ err: errorMessage(err) }, 'idle metadb connection closed'));
  }

  /** One poll's reads; throws when the metadb does not answer in time (the caller reports MetadbUp = 0). */
  async read(now: () => Date): Promise<MetadbReading> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // pg emits 'error' on a checked-out client whose server goes away (a restart mid-poll) on top of
    // failing the query; unheard, that event would crash the process.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      // The pool's connections pipeline: BEGIN and both reads are written at once and answered in
      // one round trip (COMMIT waits for them, so every read is inside the transaction).
      // SET LOCAL ends with the transaction.
      const begun = client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${Math.trunc(this.opts.statementTimeoutMs)}`,
      );
      let schemaVersion = this.version();
      if (!schemaVersion) {
        // First poll (or after an outage): detect the schema inside the transaction, before the reads.
        await begun;
        schemaVersion = await this.detectVersion(client);
      }
      const at = now();
      // One pass over the active task instances answers queue/state, pool/state, oldest queued and
      // pool slots; four separate queries would walk the same scattered heap pages four times.
      const [, active, scheduler] = await Promise.all([
        begun,
        readActiveTaskInstances(client),
        newestSchedulerHeartbeat(client, at),
      ]);
      await client.query('COMMIT');
      return { schemaVersion, scheduler, ...summariseActiveTaskInstances(active, at) };
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // A connection that failed mid-transaction may be half-dead: destroy it rather than reuse it.
      client.release(broken);
    }
  }

  /** A round trip that reads nothing (a follower's liveness check). */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** The schema version in use (after the first successful read). */
  version(): AirflowSchemaVersion | undefined {
    return this.opts.version === 'auto' ? this.detected : this.opts.version === '2' ? '2.10' : '3';
  }

  /** Forget the detected schema (after an outage the database may have been migrated). */
  forgetVersion(): void {
    this.detected = undefined;
  }

  /** Close every connection. */
  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async detectVersion(client: pg.PoolClient): Promise<AirflowSchemaVersion> {
    this.detected = await detectAirflowSchemaVersion(client);
    return this.detected;
  }
}
