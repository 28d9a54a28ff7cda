/**
 * Reading Celery's state out of Redis the way kombu lays it out: queue depth (all priority LISTs,
 * one pipelined round-trip for any number of queues), unacked messages and which queue they came
 * from, and the queues workers have bound. Read-only except {@link pushCeleryMessage} (tests, simulator).
 */
import type { Redis } from 'ioredis';
import { type BuiltCeleryMessage, parseCeleryMessage } from './celery-message.ts';
import { BINDING_KEY_PREFIX, KOMBU_SEP, queueListKeys, UNACKED_INDEX_KEY, UNACKED_KEY } from './kombu-keys.ts';

/** kombu transport options that change key names. */
export interface KombuLayoutOptions {
  /** kombu's `global_keyprefix` transport option (Airflow: `[celery_broker_transport_options]`). */
  globalKeyprefix?: string;
}

/**
 * Waiting messages per queue: the sum of LLEN over the queue's four priority LISTs, as kombu's
 * `_size` counts. All queues go in one pipeline (one round-trip). Prefetched-but-unacked messages
 * are not in the LISTs; see {@link unackedMessages}.
 *
 * @example const lengths = await queueLengths(redis, ['default', 'etl'])
 */
export async function queueLengths(
  redis: Redis,
  queues: readonly string[],
  options: KombuLayoutOptions = {},
): Promise<Map<string, number>> {
  const lengths = new Map<string, number>();
  if (queues.length === 0) return lengths;
  const pipeline = redis.pipeline();
  for (const queue of queues) for (const key of queueListKeys(queue, options.globalKeyprefix)) pipeline.llen(key);
  const results = (await pipeline.exec()) ?? [];
  let i = 0;
  for (const queue of queues) {
    let total = 0;
    for (let step = 0; step < 4; step++, i++) {
      const [err, n] = results[i] ?? [new Error('missing pipeline reply'), null];
      // a key holding another type (WRONGTYPE) is not a Celery queue: it counts nothing
      if (!err && typeof n === 'number') total += n;
    }
    lengths.set(queue, total);
  }
  return lengths;
}

/** Delivered-but-unacknowledged messages (taken by workers, prefetched or running). */
export interface UnackedMessages {
  /** HLEN of the `unacked` hash. */
  count: number;
  /** ZCARD of `unacked_index` (equal to `count` unless a worker died mid-update). */
  indexCount: number;
  /** Unacked messages per routing key (the queue, for Airflow's tasks). */
  byQueue: Map<string, number>;
  /** Entries that could not be decoded. */
  unparsed: number;
}

/**
 * Counts the `unacked` hash and attributes each entry to its queue by decoding the stored
 * `[message, exchange, routing_key]` (HSCAN in batches, so a large hash never arrives in one reply).
 */
export async function unackedMessages(redis: Redis, options: KombuLayoutOptions = {}): Promise<UnackedMessages> {
  const prefix = options.globalKeyprefix ?? '';
  const [[, count], [, indexCount]] = ((await redis
    .pipeline()
    .hlen(prefix + UNACKED_KEY)
    .zcard(prefix + UNACKED_INDEX_KEY)
    .exec()) ?? [
    [null, 0],
    [null, 0],
  ]) as [[Error | null, number], [Error | null, number]];
  const byQueue = new Map<string, number>();
  let unparsed = 0;
  let cursor = '0';
  do {
    const [next, fields] = await redis.hscan(prefix + UNACKED_KEY, cursor, 'COUNT', 500);
    cursor = next;
    for (let i = 1; i < fields.length; i += 2) {
      const queue = unackedQueue(fields[i]!);
      if (queue === null) unparsed++;
      else byQueue.set(queue, (byQueue.get(queue) ?? 0) + 1);
    }
  } while (cursor !== '0');
  return { count: Number(count ?? 0), indexCount: Number(indexCount ?? 0), byQueue, unparsed };
}

/** The queue of one `unacked` value (`[message, exchange, routing_key]`), or null when unreadable. */
export function unackedQueue(value: string): string | null {
  try {
    const entry = JSON.parse(value) as unknown;
    if (!Array.isArray(entry) || entry.length < 3) return null;
    if (typeof entry[2] === 'string' && entry[2] !== '') return entry[2];
    const parsed = parseCeleryMessage(entry[0] as Record<string, unknown>);
    return parsed.ok ? parsed.routingKey : null;
  } catch {
    return null;
  }
}

/**
 * Queues some worker has declared (members of the `_kombu.binding.*` SETs), without Celery's own
 * pidbox/event queues. Uses SCAN, never KEYS.
 */
export async function boundQueues(redis: Redis, options: KombuLayoutOptions = {}): Promise<string[]> {
  const prefix = options.globalKeyprefix ?? '';
  const queues = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix + BINDING_KEY_PREFIX)}*`, 'COUNT', 200);
    cursor = next;
    for (const key of keys) {
      for (const member of await redis.smembers(key)) {
        const queue = member.split(KOMBU_SEP)[2];
        if (queue && !queue.endsWith('.pidbox') && !queue.startsWith('celeryev.')) queues.add(queue);
      }
    }
  } while (cursor !== '0');
  return [...queues].sort();
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** LPUSHes a built message where kombu would (its priority LIST, with `global_keyprefix`). */
export async function pushCeleryMessage(
  redis: Redis,
  message: BuiltCeleryMessage,
  options: KombuLayoutOptions = {},
): Promise<void> {
  await redis.lpush((options.globalKeyprefix ?? '') + message.key, message.payload);
}
