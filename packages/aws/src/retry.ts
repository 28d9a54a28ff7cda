/**
 * The one rule for AWS call failures (S3, CloudWatch): which are worth another attempt and how long
 * to wait. Throttling, transient and server errors are the SDK's own classification
 * (@smithy/core/retry, the lists the SDK's retry strategy uses); transport failures without an
 * HTTP answer (reset sockets, DNS, timeouts) are retried too.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/** How a failed AWS call ended, in the words the services' metrics use. */
export type AwsFailure = 'throttled' | 'server_error' | 'timeout' | 'network_error' | 'client_error';

// Throttling names some services use that the SDK's list does not carry (S3's SlowDown is in it).
const MORE_THROTTLING = new Set([
  'ThrottledException',
  'RequestThrottledException',
  'RequestThrottled',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
  'LimitExceededException',
]);
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * Classifies a failed AWS call.
 *
 * @example classifyAwsFailure(err) === 'throttled' // S3 SlowDown, CloudWatch Throttling, HTTP 429
 */
export function classifyAwsFailure(err: unknown): AwsFailure {
  const e = (err && typeof err === 'object' ? err : {}) as AwsLikeError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.Code ?? '';
  if (isThrottlingError(e as never) || MORE_THROTTLING.has(name) || MORE_THROTTLING.has(e.Code ?? ''))
    return 'throttled';
  if (TIMEOUTS.has(name)) return 'timeout';
  if ((status !== undefined && status >= 500) || isServerError(e as never)) return 'server_error';
  if (status === 408) return 'timeout';
  if (status !== undefined && status >= 400) return 'client_error';
  if (isTransientError(e as never) || (e.code && TRANSPORT_CODES.has(e.code))) return 'network_error';
  // A dropped connection mid-response surfaces without a status or code.
  if (/socket hang up|ECONNRESET|EPIPE|timed? ?out|aborted|Deserialization error/i.test(String(e.message ?? ''))) {
    return /time ?out/i.test(String(e.message)) ? 'timeout' : 'network_error';
  }
  // No HTTP answer at all: the request never reached AWS (or its answer never came back).
  return status === undefined ? 'network_error' : 'client_error';
}

/** Whether a failed AWS call is worth another attempt (everything but a 4xx answer). */
export function isRetryableAwsFailure(err: unknown): boolean {
  if (err && typeof err === 'object' && (err as AwsLikeError).$retryable) return true;
  return classifyAwsFailure(err) !== 'client_error';
}

/**
 * "Full jitter" backoff (AWS Architecture Blog): uniform in [0, min(cap, base * 2^attempt)], which
 * spreads out many clients retrying after the same throttling event.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
