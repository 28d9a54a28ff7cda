/**
 * Celery remote control over Redis in TypeScript: kombu's pidbox broadcast/reply protocol
 * (`kombu/pidbox.py`, `kombu/transport/redis.py`, kombu 5.x), so Windsock can ask a worker what it
 * runs (`active`, `reserved`, `active_queues`) and tell it to stop or resume consuming
 * (`cancel_consumer`, `add_consumer`) or to shut down warm (`shutdown`) without Python.
 *
 * On Redis the `celery.pidbox` fanout exchange is PUB/SUB: a command is PUBLISHed to
 * `<global_keyprefix>/<db>.celery.pidbox` (kombu's `keyprefix_fanout` + exchange; every worker
 * PSUBSCRIBEs to it and runs commands whose `destination` names its hostname). A reply goes through
 * the `reply.celery.pidbox` direct exchange: the worker looks up the binding SET
 * `_kombu.binding.reply.celery.pidbox` for the reply's routing key (our `oid`) and LPUSHes the reply
 * onto the bound queue `<oid>.reply.celery.pidbox`, where we BRPOP it. Messages are kombu's virtual
 * transport envelopes (JSON body, base64 body_encoding).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BINDING_KEY_PREFIX, KOMBU_SEP, queueListKeys } from './kombu-keys.ts';

/** Options of {@link CeleryControl}. */
export interface CeleryControlOptions {
  /** kombu's `global_keyprefix` transport option. */
  globalKeyprefix?: string;
  /** The Redis database number (kombu's fanout channels name it); default: the client's. */
  db?: number;
  /** The mailbox namespace (Celery's app control uses `celery`). */
  namespace?: string;
  /** How long a call waits for replies (ms). */
  timeoutMs?: number;
}

/** A task as `active`/`reserved` describe it (Celery's `Request.info()`). */
export interface CeleryTaskInfo {
  id: string;
  name: string;
  args?: unknown;
  kwargs?: unknown;
  hostname?: string;
  time_start?: number | null;
  acknowledged?: boolean;
  delivery_info?: { routing_key?: string; exchange?: string; priority?: number; redelivered?: boolean };
  worker_pid?: number | null;
  [k: string]: unknown;
}

/** A queue as `active_queues` describes it. */
export interface CeleryQueueInfo {
  name: string;
  routing_key?: string;
  [k: string]: unknown;
}

/** What one worker is doing, from one `active` and one `reserved` call. */
export interface WorkerActivity {
  hostname: string;
  /** null: the worker did not answer in time. */
  active: CeleryTaskInfo[] | null;
  reserved: CeleryTaskInfo[] | null;
}

/**
 * A Celery remote-control client on the Redis broker. Uses the given connection for publishing and
 * one duplicate of it for blocking reads; {@link close} ends the duplicate.
 *
 * @example
 * const control = new CeleryControl(redis, { globalKeyprefix: '' });
 * const busy = (await control.active('celery@worker-1'))?.length;
 */
export class CeleryControl {
  private readonly prefix: string;
  private readonly namespace: string;
  private readonly timeoutMs: number;
  private readonly oid = randomUUID();
  private blocking?: Redis;
  private bound = false;
  private clock = 1;

  constructor(
    private readonly redis: Redis,
    private readonly opts: CeleryControlOptions = {},
  ) {
    this.prefix = opts.globalKeyprefix ?? '';
    this.namespace = opts.namespace ?? 'celery';
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** The PUB/SUB channel commands are published to. */
  fanoutChannel(): string {
    const db = this.opts.db ?? this.redis.options.db ?? 0;
    return `${this.prefix}/${db}.${this.namespace}.pidbox`;
  }

  private get replyExchange(): string {
    return `reply.${this.namespace}.pidbox`;
  }

  private get replyQueue(): string {
    return `${this.oid}.${this.replyExchange}`;
  }

  /**
   * Send `method` to the workers named in `destination` and collect their replies (hostname -> reply)
   * until each answered or the timeout passed. Workers that do not answer are absent from the map.
   */
  async call(
    destination: readonly string[],
    method: string,
    args: Record<string, unknown> = {},
    timeoutMs = this.timeoutMs,
  ): Promise<Map<string, unknown>> {
    const ticket = randomUUID();
    await this.bindReplyQueue();
    await this.publish(method, args, destination, timeoutMs, ticket);
    const replies = new Map<string, unknown>();
    const deadline = Date.now() + timeoutMs;
    const keys = queueListKeys(this.replyQueue, this.prefix);
    this.blocking ??= this.redis.duplicate();
    while (replies.size < destination.length) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      // BRPOP takes seconds (fractions allowed since Redis 6)
      const got = await this.blocking.brpop(...keys, Math.max(0.01, left / 1000));
      if (!got) break;
      const reply = decodeEnvelope(got[1]);
      if (!reply || reply.headers.ticket !== ticket) continue; // a late reply to an earlier call
      if (reply.body && typeof reply.body === 'object') {
        for (const [host, value] of Object.entries(reply.body as Record<string, unknown>)) replies.set(host, value);
      }
    }
    return replies;
  }

  /** Send `method` without waiting for replies. */
  async cast(destination: readonly string[], method: string, args: Record<string, unknown> = {}): Promise<void> {
    await this.publish(method, args, destination, this.timeoutMs, null);
  }

  /** Tasks the worker is executing now, or null when it did not answer. */
  async active(hostname: string): Promise<CeleryTaskInfo[] | null> {
    return asList<CeleryTaskInfo>((await this.call([hostname], 'active')).get(hostname));
  }

  /** Tasks the worker has taken (prefetched) but not started, or null when it did not answer. */
  async reserved(hostname: string): Promise<CeleryTaskInfo[] | null> {
    return asList<CeleryTaskInfo>((await this.call([hostname], 'reserved')).get(hostname));
  }

  /** The queues the worker consumes from now, or null when it did not answer. */
  async activeQueues(hostname: string): Promise<CeleryQueueInfo[] | null> {
    return asList<CeleryQueueInfo>((await this.call([hostname], 'active_queues')).get(hostname));
  }

  /** `active` and `reserved` in one go. */
  async activity(hostname: string): Promise<WorkerActivity> {
    const [active, reserved] = await Promise.all([this.active(hostname), this.reserved(hostname)]);
    return { hostname, active, reserved };
  }

  /** Whether the worker answers `ping`. */
  async ping(hostname: string, timeoutMs?: number): Promise<boolean> {
    return (await this.call([hostname], 'ping', {}, timeoutMs)).has(hostname);
  }

  /** Stop consuming from `queue` (the worker applies it soon after replying: check activeQueues). */
  async cancelConsumer(hostname: string, queue: string): Promise<boolean> {
    return isOk((await this.call([hostname], 'cancel_consumer', { queue })).get(hostname));
  }

  /** Consume from `queue` again. */
  async addConsumer(hostname: string, queue: string): Promise<boolean> {
    return isOk((await this.call([hostname], 'add_consumer', { queue })).get(hostname));
  }

  /** Warm shutdown (Celery raises WorkerShutdown in its main process: running tasks finish). */
  async shutdown(hostname: string): Promise<void> {
    await this.cast([hostname], 'shutdown');
  }

  /** Remove the reply binding and queue, end the blocking connection. */
  async close(): Promise<void> {
    if (this.bound) {
      await this.redis
        .multi()
        .srem(this.bindingKey(), this.bindingMember())
        .del(...queueListKeys(this.replyQueue, this.prefix))
        .exec()
        .catch(() => undefined);
      this.bound = false;
    }
    this.blocking?.disconnect();
    this.blocking = undefined;
  }

  private bindingKey(): string {
    return `${this.prefix}${BINDING_KEY_PREFIX}${this.replyExchange}`;
  }

  private bindingMember(): string {
    return [this.oid, '', this.replyQueue].join(KOMBU_SEP);
  }

  private async bindReplyQueue(): Promise<void> {
    // Re-added on every call: SADD is idempotent, and a broker restart may have lost it.
    await this.redis.sadd(this.bindingKey(), this.bindingMember());
    this.bound = true;
  }

  private async publish(
    method: string,
    args: Record<string, unknown>,
    destination: readonly string[],
    timeoutMs: number,
    ticket: string | null,
  ): Promise<void> {
    const message: Record<string, unknown> = {
      method,
      arguments: args,
      destination: [...destination],
      pattern: null,
      matcher: null,
    };
    if (ticket) {
      message.ticket = ticket;
      message.reply_to = { exchange: this.replyExchange, routing_key: this.oid };
    }
    const envelope = {
      body: Buffer.from(JSON.stringify(message), 'utf8').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { clock: this.clock++, expires: Date.now() / 1000 + timeoutMs / 1000 },
      properties: {
        delivery_info: { exchange: `${this.namespace}.pidbox`, routing_key: '' },
        priority: 0,
        body_encoding: 'base64',
        delivery_tag: randomUUID(),
      },
    };
    await this.redis.publish(this.fanoutChannel(), JSON.stringify(envelope));
  }
}

function decodeEnvelope(raw: string): { headers: Record<string, unknown>; body: unknown } | null {
  try {
    const env = JSON.parse(raw) as {
      body?: string;
      headers?: Record<string, unknown>;
      properties?: { body_encoding?: string };
    };
    const text =
      env.properties?.body_encoding === 'base64' ? Buffer.from(env.body ?? '', 'base64').toString('utf8') : env.body;
    return { headers: env.headers ?? {}, body: text ? JSON.parse(text) : null };
  } catch {
    return null;
  }
}

function asList<T>(v: unknown): T[] | null {
  return Array.isArray(v) ? (v as T[]) : null;
}

function isOk(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'ok' in v;
}
