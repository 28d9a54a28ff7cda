/**
 * Which PutMetricData failures are worth another try, and how long to wait before it: @windsock/aws's
 * classification and backoff, in this sink's outcome names.
 */
import { backoffMs, classifyAwsFailure } from '@windsock/aws/retry';

/** How an API call ended, as counted in windsock_cloudwatch_requests_total{outcome}. */
export type RequestOutcome = 'success' | 'throttled' | 'server_error' | 'network_error' | 'client_error';

interface AwsLikeError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Classifies a failed call by @windsock/aws's one rule for AWS failures. Throttling, 5xx and
 * transport failures are retried; any other 4xx means the request itself is wrong and will never
 * succeed as it is.
 */
export function classify(err: unknown): Exclude<RequestOutcome, 'success'> {
  const c = classifyAwsFailure(err);
  return c === 'timeout' ? 'network_error' : c;
}

/** Whether an outcome is worth retrying. */
export function retryable(outcome: RequestOutcome): boolean {
  return outcome === 'throttled' || outcome === 'server_error' || outcome === 'network_error';
}

export { backoffMs };

/** A short description of an error for logs and reports (no request bodies, no credentials). */
export function describeError(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError & { message?: string };
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  return `${code}${status ? ` (HTTP ${status})` : ''}: ${String(e.message ?? err).slice(0, 300)}`;
}
