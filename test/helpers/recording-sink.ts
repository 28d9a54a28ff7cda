/**
 * A metric sink for tests that keeps what each flush published, flush by flush: a test can then
 * assert on what a real sink would have sent in one flush (an explicit 0 included), not on sums.
 */
import type { FlushReport, MetricDatum, MetricSink } from '@windsock/metrics';

/** A sink whose `flushes[i]` holds the datums the i-th flush published. */
export class FlushRecordingSink implements MetricSink {
  readonly name = 'recording';
  readonly flushes: MetricDatum[][] = [];
  private buffer: MetricDatum[] = [];
  write(datums: readonly MetricDatum[]): void {
    this.buffer.push(...datums);
  }
  async flush(): Promise<FlushReport> {
    const sent = this.buffer.length;
    this.flushes.push(this.buffer);
    this.buffer = [];
    return { sink: this.name, sent, pending: 0, dropped: 0, requests: 1, retries: 0, errors: [] };
  }
  async close(): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
  }
}

/** Resolve once `check()` is true; throws after `timeoutMs` (a bound for a stuck test, not a timing assertion). */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
