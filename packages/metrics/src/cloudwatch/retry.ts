/**
 * Which PutMetricData failures are worth another try, and how long to wait before it.
 */

/** How an API call ended, as counted in windsock_cloudwatch_requests_total{outcome}. */
export type RequestOutcome = 'success' | 'throttled' | 'server_error' | 'network_error' | 'client_error';

// The error codes AWS SDKs treat as throttling (CloudWatch itself answers "Throttling").
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'BandwidthLimitExceeded',
  'LimitExceededException',
]);

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Classifies a failed call. Throttling, 5xx and transport failures are retried; any other 4xx
 * means the request itself is wrong and will never succeed as it is.
 */
export function classify(err: unknown): Exclude<RequestOutcome, 'success'> {
  const e = (err ?? {}) as AwsLikeError;
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || THROTTLING.has(e.name ?? '') || THROTTLING.has(e.Code ?? '')) return 'throttled';
  if (status !== undefined && status >= 500) return 'server_error';
  if (status !== undefined && status >= 400) return 'client_error';
  return 'network_error';
}

/** Whether an outcome is worth retrying. */
export function retryable(outcome: RequestOutcome): boolean {
  return outcome === 'throttled' || outcome === 'server_error' || outcome === 'network_error';
}

/**
 * "Full jitter" backoff: a uniformly random wait between 0 and min(cap, base * 2^attempt), which
 * spreads out many clients retrying after the same throttling event.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** A short description of an error for logs and reports (no request bodies, no credentials). */
export function describeError(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError & { message?: string };
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  return `${code}${status ? ` (HTTP ${status})` : ''}: ${String(e.message ?? err).slice(0, 300)}`;
}
