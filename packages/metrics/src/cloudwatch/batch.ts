/**
 * Splitting pending datums into PutMetricData requests at AWS's limits: at most 1000 datums and
 * 1 MB of body per request, one namespace per request.
 *
 * Sizes are measured as the installed SDK serialises them. @aws-sdk/client-cloudwatch >= 3.949
 * speaks AWS JSON 1.0 (the body is JSON.stringify of the input, timestamps as epoch seconds);
 * older clients speak the query protocol (form-encoded, far more verbose). Each datum is sized in
 * the client's protocol (both, taking the larger, when the protocol is unknown) plus a margin,
 * and the body limit used is 1,000,000 bytes (below 1 MiB), so the estimate is never under
 * what is sent. The body is measured before compression, which only makes it smaller.
 */
import type { MetricDatum as CwDatum } from '@aws-sdk/client-cloudwatch';
import type { PendingDatum } from './convert.ts';

/** At most this many datums per PutMetricData request. */
export const MAX_DATUMS_PER_REQUEST = 1000;
/** Body bytes allowed per request: AWS's 1 MB, read as 10^6 bytes to stay on the safe side. */
export const MAX_REQUEST_BYTES = 1_000_000;
/** Bytes added to every datum's measured size for what the measure cannot see (separators, escapes). */
const MARGIN_BYTES = 16;

/** The wire protocol a CloudWatch client speaks, as far as request sizes go. */
export type WireProtocol = 'json' | 'query' | 'unknown';

/** The protocol of a constructed client (from its resolved config). */
export function wireProtocol(client: { config: unknown }): WireProtocol {
  const p = (client.config as { protocol?: unknown }).protocol;
  const name =
    typeof p === 'function'
      ? p.name
      : ((p as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? '');
  if (/json/i.test(name)) return 'json';
  if (/query/i.test(name)) return 'query';
  return 'unknown';
}

function jsonBytes(d: CwDatum): number {
  // The SDK writes Timestamp as epoch seconds with millisecond decimals.
  const ts = d.Timestamp ? d.Timestamp.getTime() / 1000 : undefined;
  return Buffer.byteLength(JSON.stringify({ ...d, Timestamp: ts }));
}

function queryBytes(d: CwDatum): number {
  // MetricData.member.N.<path>=<urlencoded value>& with N up to 4 digits.
  const prefix = 'MetricData.member.1000.';
  let n = 0;
  const field = (path: string, value: unknown) => {
    n += prefix.length + path.length + 2 + Buffer.byteLength(encodeURIComponent(String(value)));
  };
  field('MetricName', d.MetricName);
  (d.Dimensions ?? []).forEach((dim, i) => {
    field(`Dimensions.member.${i + 1}.Name`, dim.Name);
    field(`Dimensions.member.${i + 1}.Value`, dim.Value);
  });
  if (d.Timestamp) field('Timestamp', d.Timestamp.toISOString());
  if (d.Value !== undefined) field('Value', d.Value);
  for (const [i, v] of (d.Values ?? []).entries()) field(`Values.member.${i + 1}`, v);
  for (const [i, v] of (d.Counts ?? []).entries()) field(`Counts.member.${i + 1}`, v);
  if (d.StatisticValues) {
    for (const [k, v] of Object.entries(d.StatisticValues)) field(`StatisticValues.${k}`, v);
  }
  if (d.Unit) field('Unit', d.Unit);
  return n;
}

/** Estimated body bytes of one datum in a request (never less than what the SDK sends). */
export function datumBytes(d: CwDatum, protocol: WireProtocol): number {
  const size =
    protocol === 'json' ? jsonBytes(d) : protocol === 'query' ? queryBytes(d) : Math.max(jsonBytes(d), queryBytes(d));
  return size + MARGIN_BYTES;
}

/** Estimated body bytes of a request around its datums. */
export function envelopeBytes(namespace: string, protocol: WireProtocol): number {
  const json = Buffer.byteLength(JSON.stringify({ Namespace: namespace, MetricData: [] }));
  const query = 'Action=PutMetricData&Version=2010-08-01&Namespace='.length + encodeURIComponent(namespace).length;
  return (protocol === 'json' ? json : protocol === 'query' ? query : Math.max(json, query)) + MARGIN_BYTES;
}

/** One request's worth of datums. */
export interface Batch {
  namespace: string;
  items: PendingDatum[];
  bytes: number;
}

/**
 * Groups datums into requests, in order per namespace, each within `maxDatums` and `maxBytes`.
 * A lone datum bigger than `maxBytes` cannot occur within CloudWatch's per-datum limits.
 */
export function planBatches(
  pending: readonly PendingDatum[],
  protocol: WireProtocol,
  maxDatums = MAX_DATUMS_PER_REQUEST,
  maxBytes = MAX_REQUEST_BYTES,
): Batch[] {
  const done: Batch[] = [];
  const open = new Map<string, Batch>();
  for (const p of pending) {
    let b = open.get(p.namespace);
    if (b && (b.items.length >= maxDatums || b.bytes + p.bytes > maxBytes)) {
      done.push(b);
      b = undefined;
    }
    if (!b) {
      b = { namespace: p.namespace, items: [], bytes: envelopeBytes(p.namespace, protocol) };
      open.set(p.namespace, b);
    }
    b.items.push(p);
    b.bytes += p.bytes;
  }
  done.push(...open.values());
  return done;
}
