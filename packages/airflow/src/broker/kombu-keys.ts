/**
 * Where kombu's Redis transport keeps Celery's queues (`kombu/transport/redis.py`, kombu 5.x): one
 * LIST per queue and priority step, the unacked HASH and its ZSET index, and binding SETs. Every key
 * is prefixed with the transport option `global_keyprefix` ('' by default).
 */

/** kombu's separator between a queue name and its priority step (`Channel.sep`). */
export const KOMBU_SEP = '\x06\x16';

/** kombu's `PRIORITY_STEPS`: priority 0 is the bare queue key, the others get `<queue>\x06\x16<step>`. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** The HASH of delivered-but-unacknowledged messages: delivery_tag -> JSON [message, exchange, routing_key]. */
export const UNACKED_KEY = 'unacked';

/** The ZSET scoring each unacked delivery_tag by the time it was delivered (for visibility_timeout). */
export const UNACKED_INDEX_KEY = 'unacked_index';

/** The prefix of binding SETs: `_kombu.binding.<exchange>`, members `routing_key\x06\x16pattern\x06\x16queue`. */
export const BINDING_KEY_PREFIX = '_kombu.binding.';

/** The priority step a message priority lands in: the largest step not above it (kombu's `Channel.priority`). */
export function priorityStep(priority: number): number {
  let step = 0;
  for (const s of PRIORITY_STEPS) if (priority >= s) step = s;
  return step;
}

/** The LIST key of `queue` for a priority step (without `global_keyprefix`). */
export function queueKeyForPriority(queue: string, priority: number): string {
  const step = priorityStep(priority);
  return step === 0 ? queue : `${queue}${KOMBU_SEP}${step}`;
}

/** All LIST keys of one queue, one per priority step, each with `globalKeyprefix`. */
export function queueListKeys(queue: string, globalKeyprefix = ''): string[] {
  return PRIORITY_STEPS.map((step) => globalKeyprefix + queueKeyForPriority(queue, step));
}
