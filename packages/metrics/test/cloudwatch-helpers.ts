/**
 * Shared by the CloudWatch tests: reading metrics back from moto, and decoding what the sink sent.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import type { FaultProxy } from '../../../test/helpers/faultproxy.ts';
import type { SinkLogger } from '../src/index.ts';

/** A PutMetricData request body as sent (AWS JSON 1.0). */
export interface SentRequest {
  bytes: number;
  Namespace: string;
  MetricData: {
    MetricName: string;
    Dimensions?: { Name: string; Value: string }[];
    Value?: number;
    Values?: number[];
    Counts?: number[];
    StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
    Unit?: string;
  }[];
}

/** The PutMetricData requests the proxy saw (all attempts, faulted or not). */
export function sentRequests(proxy: FaultProxy, onlyForwarded = false): SentRequest[] {
  return proxy.requests
    .filter((r) => String(r.headers['x-amz-target'] ?? '').endsWith('.PutMetricData'))
    .filter((r) => !onlyForwarded || r.fault === 'pass' || r.fault === 'slow')
    .map((r) => ({ bytes: r.body.length, ...(JSON.parse(r.body.toString('utf8')) as Omit<SentRequest, 'bytes'>) }));
}

/** A client that reads moto directly (not through the proxy). */
export function readClient(motoUrl: string): CloudWatchClient {
  return new CloudWatchClient({ endpoint: motoUrl, region: 'us-east-1', maxAttempts: 1 });
}

/** One series' statistics over the last and next ten minutes, all datapoints summed up. */
export async function readBack(
  client: CloudWatchClient,
  namespace: string,
  name: string,
  dimensions: Record<string, string> = {},
): Promise<{ sampleCount: number; sum: number; min: number; max: number; datapoints: number }> {
  const now = Date.now();
  const out = await client.send(
    new GetMetricStatisticsCommand({
      Namespace: namespace,
      MetricName: name,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      StartTime: new Date(now - 3_600_000),
      EndTime: new Date(now + 600_000),
      Period: 60,
      Statistics: ['SampleCount', 'Sum', 'Minimum', 'Maximum'],
    }),
  );
  const dps = out.Datapoints ?? [];
  return {
    sampleCount: dps.reduce((a, d) => a + (d.SampleCount ?? 0), 0),
    sum: dps.reduce((a, d) => a + (d.Sum ?? 0), 0),
    min: Math.min(...dps.map((d) => d.Minimum ?? Number.POSITIVE_INFINITY)),
    max: Math.max(...dps.map((d) => d.Maximum ?? Number.NEGATIVE_INFINITY)),
    datapoints: dps.length,
  };
}

/** A logger that keeps every line. */
export function memoryLogger(): SinkLogger & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg: msg ?? '' });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

/** A namespace no other test run uses. */
export function uniqueNamespace(prefix: string): string {
  return `Windsock/Test/${prefix}/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
