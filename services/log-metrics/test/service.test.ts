/**
 * The long-running service's flush/checkpoint protocol, in process, on real files: counts published
 * once per flush; the checkpoint moves only after the sinks let go of every datum; a restart from
 * the checkpoint counts exactly what was not published (a record still open at a flush included).
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@windsock/core';
import { type FlushReport, type MetricDatum, type MetricSink, Metrics } from '@windsock/metrics';
import { CheckpointStore } from '../src/checkpoint.ts';
import { LogPipeline } from '../src/pipeline.ts';
import { LogMetricsService } from '../src/service.ts';
import { tempDir } from './helpers.ts';

/** A sink that publishes on flush, or holds everything while `hold` is set (CloudWatch down). */
class RecordingSink implements MetricSink {
  readonly name = 'recording';
  hold = false;
  private buffer: MetricDatum[] = [];
  readonly published: MetricDatum[] = [];
  write(datums: readonly MetricDatum[]): void {
    this.buffer.push(...datums);
  }
  async flush(): Promise<FlushReport> {
    if (this.hold)
      return { sink: this.name, sent: 0, pending: this.buffer.length, dropped: 0, requests: 0, retries: 0, errors: [] };
    const sent = this.buffer.length;
    this.published.push(...this.buffer);
    this.buffer = [];
    return { sink: this.name, sent, pending: 0, dropped: 0, requests: 1, retries: 0, errors: [] };
  }
  async close(): Promise<void> {
    await this.flush();
  }
  total(name: string): number {
    return this.published.filter((d) => d.name === name).reduce((a, d) => a + (d.value ?? 0), 0);
  }
}

const ERROR = (i: number) => `[2024-05-01T10:00:00.000+0000] {x.py:${i}} ERROR - failure ${i}\n`;
const WARN = (i: number) => `[2024-05-01T10:00:00.000+0000] {x.py:${i}} WARNING - slow ${i}\n`;
const TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom\n';

function build(dir: string, sink: RecordingSink) {
  const store = new CheckpointStore(join(dir, 'state'));
  store.init();
  const checkpoint = store.load();
  const pipeline = new LogPipeline({
    cluster: 'svc',
    inputs: [{ path: join(dir, 'scheduler.log*') }],
    startPosition: 'checkpoint',
    checkpoint,
    idleFinishMs: 60_000, // records end only at the next header or a stop, so a flush can split one
    rescanIntervalMs: 0,
    youngQuietMs: 0,
    logger: silentLogger(),
  });
  const metrics = new Metrics({ namespace: 'Test', sinks: [sink] });
  const service = new LogMetricsService({
    pipeline,
    metrics,
    store,
    resumed: checkpoint !== undefined,
    logger: silentLogger(),
    flushIntervalMs: 3_600_000, // flushes are driven by the test
    pollIntervalMs: 3_600_000,
  });
  return { service, pipeline, store };
}

describe('LogMetricsService flush and checkpoint', () => {
  const { dir, cleanup } = tempDir('lm-svc-');
  after(cleanup);

  it('checkpoints after each confirmed flush and a restart counts only what was not published', async () => {
    const log = join(dir, 'scheduler.log');
    const a = new RecordingSink();
    const first = build(dir, a);
    await first.service.start(); // first start: no file yet, the checkpoint is written empty
    assert.ok(existsSync(join(dir, 'state', 'log-metrics.checkpoint.json')));
    writeFileSync(log, ERROR(1) + TRACEBACK + WARN(2) + ERROR(3)); // ERROR(3) stays open (no next header)
    first.pipeline.poll();
    await first.service.flush();
    assert.equal(a.total('LogErrors'), 1, 'the open record is not counted yet');
    assert.equal(a.total('Tracebacks'), 1);
    assert.equal(a.total('LogWarnings'), 1);
    const cp = JSON.parse(readFileSync(first.store.path, 'utf8'));
    assert.equal(
      cp.files[0].offset,
      Buffer.byteLength(ERROR(1) + TRACEBACK + WARN(2)),
      'checkpoint stops before the open record',
    );

    appendFileSync(log, TRACEBACK + WARN(4));
    first.pipeline.poll(); // read, counted (ERROR(3) closed with its traceback) but never flushed: then a crash
    await first.service.halt();

    const b = new RecordingSink();
    const second = build(dir, b);
    await second.service.start();
    second.pipeline.poll();
    await second.service.stop(); // a clean stop counts the open record and checkpoints it
    assert.equal(b.total('LogErrors'), 1, 'ERROR(3) counted once, by the second life');
    assert.equal(b.total('Tracebacks'), 1);
    assert.equal(b.total('LogWarnings'), 1);
    assert.equal(a.total('LogErrors') + b.total('LogErrors'), 2);
    assert.equal(a.total('LogWarnings') + b.total('LogWarnings'), 2);
    const end = JSON.parse(readFileSync(second.store.path, 'utf8'));
    assert.equal(end.files[0].offset, readFileSync(log).length);
  });

  it('does not move the checkpoint while a sink still holds datums, and moves it once they are sent', async () => {
    const { dir: d2, cleanup: c2 } = tempDir('lm-svc-hold-');
    try {
      const log = join(d2, 'scheduler.log');
      const sink = new RecordingSink();
      const s = build(d2, sink);
      await s.service.start();
      writeFileSync(log, ERROR(1) + WARN(2));
      s.pipeline.poll();
      await s.service.flush();
      const before = readFileSync(s.store.path, 'utf8');
      sink.hold = true;
      appendFileSync(log, ERROR(3) + WARN(4));
      s.pipeline.poll();
      await s.service.flush();
      assert.equal(readFileSync(s.store.path, 'utf8'), before, 'held back: a crash now re-reads ERROR(3)');
      assert.equal(s.service.status().checkpointHeldBack, 1);
      sink.hold = false;
      await s.service.flush();
      const after = JSON.parse(readFileSync(s.store.path, 'utf8'));
      assert.equal(after.files[0].offset, Buffer.byteLength(ERROR(1) + WARN(2) + ERROR(3)));
      assert.equal(sink.total('LogErrors'), 2);
      await s.service.stop();
    } finally {
      c2();
    }
  });

  it('a first start begins present files at their end; files created later are read from their start', async () => {
    const { dir: d3, cleanup: c3 } = tempDir('lm-svc-first-');
    try {
      writeFileSync(join(d3, 'scheduler.log'), ERROR(1) + ERROR(2) + WARN(3));
      const sink = new RecordingSink();
      const s = build(d3, sink);
      await s.service.start();
      appendFileSync(join(d3, 'scheduler.log'), ERROR(4));
      writeFileSync(join(d3, 'scheduler.log.1'), WARN(5) + WARN(6));
      s.pipeline.poll();
      await s.service.stop();
      assert.equal(sink.total('LogErrors'), 1, 'history before the first start is not counted');
      assert.equal(sink.total('LogWarnings'), 2);
    } finally {
      c3();
    }
  });
});
