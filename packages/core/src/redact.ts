/**
 * Secret scrubbing. Every string that leaves the process (log lines, `config print`, `/status`,
 * error messages) passes through {@link scrub}, so a password in a connection string or broker URL
 * never reaches an operator's terminal or a log store.
 */

const registered = new Set<string>();

/** Placeholder written where a secret was. */
export const REDACTED = '***';

// scheme://user:password@host  -> scheme://user:***@host   (also redis://:password@host)
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"']*):([^@/\s"']+)@/gi;
// key=value secrets in DSNs and query strings: password=..., sslpassword=..., token=...
const KV_SECRETS = /\b(password|passwd|pwd|sslpassword|secret|token|access_key|secret_key)=([^&\s;"',]+)/gi;

/**
 * Remember a secret value so that it is replaced wherever it appears later, even outside a URL.
 * Values shorter than 4 characters are ignored: replacing them would mangle ordinary text.
 *
 * @example registerSecret(new URL(databaseUrl).password)
 */
export function registerSecret(value: string | undefined | null): void {
  if (!value || value.length < 4) return;
  registered.add(value);
  try {
    const decoded = decodeURIComponent(value);
    if (decoded !== value && decoded.length >= 4) registered.add(decoded);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) registered.add(encoded);
  } catch {
    // not URI-encoded: nothing more to add
  }
}

/** Register the password of a URL-shaped value (connection strings, broker URLs). */
export function registerUrlSecret(url: string | undefined | null): void {
  if (!url) return;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:([^@/\s]+)@/i.exec(url);
  if (m?.[1]) registerSecret(m[1]);
  for (const kv of url.matchAll(/\b(?:password|sslpassword)=([^&\s;]+)/gi)) registerSecret(kv[1]);
}

/**
 * Replace credentials in a string: URL passwords, `password=` pairs, and every registered secret.
 *
 * @example scrub('postgresql://app:hunter22@db/app') // 'postgresql://app:***@db/app'
 */
export function scrub(text: string): string {
  let out = text.replace(URL_CREDENTIALS, `$1:${REDACTED}@`).replace(KV_SECRETS, `$1=${REDACTED}`);
  if (registered.size > 0) {
    for (const secret of registered) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
  }
  return out;
}

/**
 * A secret config value as a user may see it: a URL-like value (a scheme, or `user:pass@host`) keeps
 * everything but its password, even when it is malformed (so the user can spot the mistake); any
 * other secret is {@link REDACTED} as a whole.
 *
 * @example redactSecretValue('postgresql+psycopg2://app:pw@db:99999/x') // 'postgresql+psycopg2://app:***@db:99999/x'
 */
export function redactSecretValue(value: string): string {
  if (!value.includes('://') && !value.includes('@')) return REDACTED;
  // The password runs to the last `@` (an unencoded `@` in it is a common mistake).
  const shown = value.replace(/^((?:[a-z][a-z0-9+.-]*:)?\/*[^:/?#@\s]*):(.*)@(?=[^@]*$)/i, `$1:${REDACTED}@`);
  return scrub(shown);
}

/** Deep copy of a JSON-like value with every string scrubbed. */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v);
    return out as T;
  }
  return value;
}
