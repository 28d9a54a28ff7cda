import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { errorMessage } from './errors.ts';
import type { Logger } from './logger.ts';

/** Options of {@link LeaderElector}. */
export interface LeaderElectorOptions {
  /** PostgreSQL URL (the metadb; the lock needs no table and no write privilege). */
  connectionString: string;
  /** The singleton's name (e.g. `queue-depth`): each name is its own lock. */
  name: string;
  /** First key of the two-int advisory lock (config `leader.lockId`). */
  lockId: number;
  /** How often a follower retries and a leader checks its connection. */
  intervalMs: number;
  logger: Logger;
  /** Called when this process becomes leader. */
  onElected?: () => void;
  /** Called synchronously the moment leadership is lost, before anything else runs. */
  onDeposed?: (reason: string) => void;
  /** Identity written to logs (default: hostname:pid). */
  identity?: string;
}

/**
 * Leader election for cluster-wide singletons: a PostgreSQL session-level advisory lock held on a
 * dedicated connection. The database releases the lock when the session ends (crash, SIGKILL,
 * network loss), so another replica takes over within one interval. Losing the connection
 * deposes this process at once: `isLeader()` turns false inside the connection's error handler,
 * before any other callback can act as leader.
 *
 * @example
 * const el = new LeaderElector({ connectionString, name: 'scaler', lockId: 1465076529, intervalMs: 5000, logger });
 * await el.start();
 * if (el.isLeader() && (await el.confirm())) act();
 */
export class LeaderElector {
  private client?: pg.Client;
  private leader = false;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private busy?: Promise<void>;
  private readonly objId: number;
  private lastError?: string;

  constructor(private readonly opts: LeaderElectorOptions) {
    // A stable 31-bit key per singleton name.
    this.objId = createHash('sha1').update(opts.name).digest().readInt32BE(0);
  }

  /** Whether this process holds the lock right now (no I/O). */
  isLeader(): boolean {
    return this.leader;
  }

  /** Status for /status. */
  status(): { leader: boolean; name: string; lastError?: string } {
    return { leader: this.leader, name: this.opts.name, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  /** Start campaigning: tries at once, then every interval. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.cycle();
    this.schedule();
  }

  /**
   * Confirm leadership with a round-trip on the lock's own connection (use before an action that
   * must not be done twice). Deposes this process when the connection fails.
   */
  async confirm(timeoutMs = 2000): Promise<boolean> {
    const client = this.client;
    if (!this.leader || !client) return false;
    try {
      await withTimeout(client.query('SELECT 1'), timeoutMs, 'leader check timed out');
      return this.leader;
    } catch (err) {
      this.depose(`lock connection check failed: ${errorMessage(err)}`);
      return false;
    }
  }

  /** Give up leadership (unlock) and stop campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.busy;
    const client = this.client;
    if (this.leader) this.depose('stopping');
    this.client = undefined;
    if (client) {
      await client
        .query('SELECT pg_advisory_unlock($1::int, $2::int)', [this.opts.lockId, this.objId])
        .catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.cycle();
      this.schedule();
    }, this.opts.intervalMs);
    this.timer.unref?.();
  }

  private cycle(): Promise<void> {
    this.busy = (async () => {
      try {
        if (this.leader) await this.confirm(Math.max(1000, this.opts.intervalMs));
        else await this.campaign();
      } catch (err) {
        this.lastError = errorMessage(err);
      }
    })();
    return this.busy;
  }

  private async campaign(): Promise<void> {
    const { logger, lockId } = this.opts;
    if (!this.client) {
      // Loaded on use, so importing @windsock/core does not load pg.
      const { default: pg } = await import('pg');
      const client = new pg.Client({
        connectionString: this.opts.connectionString,
        keepAlive: true,
        keepAliveInitialDelayMillis: 5000,
        connectionTimeoutMillis: Math.max(2000, this.opts.intervalMs),
        application_name: `windsock-leader-${this.opts.name}`,
      });
      client.on('error', (err) => this.lost(client, `lock connection error: ${errorMessage(err)}`));
      client.on('end', () => this.lost(client, 'lock connection closed'));
      try {
        await client.connect();
      } catch (err) {
        this.lastError = errorMessage(err);
        logger.debug({ singleton: this.opts.name, err: this.lastError }, 'leader election: cannot reach PostgreSQL');
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
    }
    const res = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [
      lockId,
      this.objId,
    ]);
    if (res.rows[0]?.ok && !this.stopped) {
      this.leader = true;
      this.lastError = undefined;
      logger.info({ singleton: this.opts.name, identity: this.identity() }, 'became leader');
      this.opts.onElected?.();
    }
  }

  private lost(client: pg.Client, reason: string): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.lastError = reason;
    if (this.leader) this.depose(reason);
    client.end().catch(() => undefined);
  }

  private depose(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.opts.onDeposed?.(reason);
    this.opts.logger.warn({ singleton: this.opts.name, reason }, 'lost leadership');
    if (reason !== 'stopping' && this.client) {
      const c = this.client;
      this.client = undefined;
      c.end().catch(() => undefined);
    }
  }

  private identity(): string {
    return this.opts.identity ?? `${hostname()}:${process.pid}`;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, msg: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(msg)), ms);
    }),
  ]);
}
