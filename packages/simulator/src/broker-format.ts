/**
 * Celery-on-Redis knowledge the simulator needs (kombu's virtual transport): queue keys and the
 * message envelope a Celery 5 client LPUSHes. Kept behind this one module so it can be swapped for
 * @windsock/airflow's broker helpers in one change.
 */

/** kombu's priority separator; priority 0 is the bare queue name. */
export const PRIORITY_SEP = '\x06\x16';

/** The Redis keys kombu uses for unacknowledged messages. */
export const UNACKED_KEY = 'unacked';
export const UNACKED_INDEX_KEY = 'unacked_index';

/** `_kombu.binding.<exchange>` member for a direct queue bound with routing key = queue name. */
export function bindingKey(queue: string): { key: string; member: string } {
  return { key: `_kombu.binding.${queue}`, member: `${queue}${PRIORITY_SEP}${PRIORITY_SEP}${queue}` };
}

/** Python `json.dumps` with default separators (", " and ": "), as kombu serialises. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(', ')}}`;
}

/** What an Airflow Celery message carries. */
export interface CeleryMessageInput {
  taskName: string;
  taskId: string;
  /** Positional args: 2.x `[command list]`, 3.x `[workload json]`. */
  args: unknown[];
  argsrepr: string;
  queue: string;
  replyTo: string;
  deliveryTag: string;
  origin: string;
}

/** The kombu envelope JSON for one Celery task message (protocol 2, json serializer, base64 body). */
export function celeryMessage(m: CeleryMessageInput): string {
  const body = pyJson([m.args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  return pyJson({
    body: Buffer.from(body, 'utf8').toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers: {
      lang: 'py',
      task: m.taskName,
      id: m.taskId,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: m.taskId,
      parent_id: null,
      argsrepr: m.argsrepr,
      kwargsrepr: '{}',
      origin: m.origin,
      ignore_result: false,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    },
    properties: {
      correlation_id: m.taskId,
      reply_to: m.replyTo,
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: m.queue },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: m.deliveryTag,
    },
  });
}

/** The value kombu stores in the `unacked` hash: `[message, exchange, routing_key]`. */
export function unackedValue(message: string, queue: string): string {
  return `[${message}, "", ${JSON.stringify(queue)}]`;
}
