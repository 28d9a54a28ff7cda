/** Backoff with full jitter and the rule for which S3 failures are worth another attempt. */
import type { FailureClass } from './metrics.ts';

/** Retry settings: attempts per call, and the exponential backoff's base and cap. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Full-jitter exponential backoff (AWS Architecture Blog): uniform in [0, min(cap, base * 2^n)]. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TimeoutError',
  'AbortError',
  'RequestAbortedError',
]);
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** True for throttling, 5xx, timeouts and connection failures; false for 4xx answers such as AccessDenied. */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (e.$retryable) return true;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  // A dropped connection mid-response surfaces as a deserialization or "socket hang up" error without a status.
  const message = String((err as Error).message ?? '');
  if (
    status === undefined &&
    /socket hang up|ECONNRESET|EPIPE|timed? ?out|aborted|Deserialization error/i.test(message)
  )
    return true;
  return false;
}

/** The short label of a failure for metrics: the S3 error name, a socket code or the HTTP status. */
export function failureReason(err: unknown): string {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const raw = e?.code ?? e?.name ?? (e?.$metadata?.httpStatusCode ? `http_${e.$metadata.httpStatusCode}` : 'unknown');
  return String(raw)
    .replace(/[^A-Za-z0-9_]/g, '_')
    .slice(0, 40);
}

/** Sleeps `ms`, resolving early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const LOCAL_CODES = new Set(['ENOENT', 'ESHRANK', 'EACCES', 'EPERM', 'EISDIR', 'EMFILE', 'ENFILE', 'EIO']);

/** The bounded class of a failure, for the Reason dimension (error names would make cardinality unbounded). */
export function failureClass(err: unknown): FailureClass {
  if (!err || typeof err !== 'object') return 'other';
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.code && LOCAL_CODES.has(e.code)) return 'local_file';
  if (e.name === 'IntegrityError') return 'integrity';
  if ((e.name && THROTTLING_NAMES.has(e.name)) || status === 429 || status === 503) return 'throttled';
  if (e.name && TIMEOUT_NAMES.has(e.name)) return 'timeout';
  if (status === 412 || status === 409 || /reconciling|sibling key/.test(String((err as Error).message)))
    return 'conflict';
  if (status !== undefined && status >= 500) return 'server_error';
  if (status !== undefined && status >= 400) return 'client_error';
  if ((e.code && RETRYABLE_CODES.has(e.code)) || isRetryable(err)) {
    return /time ?out/i.test(String((err as Error).message)) ? 'timeout' : 'network';
  }
  return 'other';
}
