/** The fixed word that starts a heartbeat token. */
export const HEARTBEAT_TOKEN = 'WINDSOCK_HEARTBEAT_OK';

const FIELD_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Parse a heartbeat token: the message must start with `WINDSOCK_HEARTBEAT_OK`, alone or followed by
 * single-space-separated `key=value` fields (keys `[a-z_][a-z0-9_]*`, values without whitespace).
 * Anything else on the line makes it not a token, so `Running command: ['echo', 'WINDSOCK_HEARTBEAT_OK']`
 * or `Done. Returned value was: WINDSOCK_HEARTBEAT_OK` never count.
 *
 * @example
 * parseHeartbeatToken('WINDSOCK_HEARTBEAT_OK v=1 queue=default hostname=worker-1')
 * // { v: '1', queue: 'default', hostname: 'worker-1' }
 */
export function parseHeartbeatToken(message: string): Record<string, string> | undefined {
  if (!message.startsWith(HEARTBEAT_TOKEN)) return undefined;
  const text = message.trimEnd();
  if (text.length === HEARTBEAT_TOKEN.length) return {};
  if (text.charCodeAt(HEARTBEAT_TOKEN.length) !== 32) return undefined;
  const fields: Record<string, string> = {};
  for (const part of text.slice(HEARTBEAT_TOKEN.length + 1).split(' ')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq);
    if (!FIELD_NAME.test(key)) return undefined;
    fields[key] = part.slice(eq + 1);
  }
  return fields;
}

/**
 * Format a heartbeat token exactly as {@link parseHeartbeatToken} reads it (for the simulator and
 * tests; the heartbeat DAG prints the same text). Throws on a key or value the grammar cannot carry.
 */
export function formatHeartbeatToken(fields: Record<string, string | number> = {}): string {
  let out = HEARTBEAT_TOKEN;
  for (const [key, value] of Object.entries(fields)) {
    const text = String(value);
    if (!FIELD_NAME.test(key))
      throw new Error(`heartbeat field name ${JSON.stringify(key)} must match [a-z_][a-z0-9_]*`);
    if (/\s/.test(text)) throw new Error(`heartbeat field ${key} must not contain whitespace: ${JSON.stringify(text)}`);
    out += ` ${key}=${text}`;
  }
  return out;
}
