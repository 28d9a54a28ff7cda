/**
 * Explicit zeros: LogErrors, LogWarnings, Tracebacks and UnparsedLines are published for every
 * (Component, Queue) seen, on every flush, as the increment since the previous flush — a quiet
 * minute is a 0, not missing data, and not the previous minute's count again. Checked on what the
 * sink receives, flush by flush, over several flushes.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '@windsock/core';
import { Metrics } from '@windsock/metrics';
import { FlushRecordingSink } from '../../../test/helpers/recording-sink.ts';
import { CheckpointStore } from '../src/checkpoint.ts';
import { LogPipeline } from '../src/pipeline.ts';
import { LogMetricsService } from '../src/service.ts';
import { tempDir } from './helpers.ts';

const header = (level: string, i: number) => `[2024-05-01T10:00:00.000+0000] {x.py:${i}} ${level} - message ${i}\n`;
const TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1, in f\nValueError: boom\n';

/** The zero-filled counters of one (Component, Queue) in one flush, as the test expects them. */
interface Window {
  LogErrors: number;
  LogWarnings: number;
  Tracebacks: number;
  UnparsedLines: number;
}
const quiet: Window = { LogErrors: 0, LogWarnings: 0, Tracebacks: 0, UnparsedLines: 0 };

describe('explicit zeros over several flushes', () => {
  const { dir, cleanup } = tempDir('lm-zeros-');
  after(cleanup);

  it('every flush publishes each zero-filled series of every source seen, reset to 0 after each flush', async () => {
    const scheduler = join(dir, 'scheduler.log');
    const worker = join(dir, 'worker.log');
    writeFileSync(scheduler, '');
    writeFileSync(worker, '');
    const store = new CheckpointStore(join(dir, 'state'));
    store.init();
    const pipeline = new LogPipeline({
      cluster: 'zeros',
      inputs: [
        { path: scheduler, component: 'scheduler' },
        { path: worker, component: 'worker', queue: 'default' },
      ],
      startPosition: 'beginning',
      idleFinishMs: 3_600_000, // a record ends at the next header: each window ends with an INFO one
      rescanIntervalMs: 0,
      youngQuietMs: 0,
      logger: silentLogger(),
    });
    const sink = new FlushRecordingSink();
    const service = new LogMetricsService({
      pipeline,
      metrics: new Metrics({ namespace: 'Test', sinks: [sink] }),
      store,
      resumed: false,
      logger: silentLogger(),
      flushIntervalMs: 3_600_000, // flushes are driven by the test
      pollIntervalMs: 3_600_000,
    });
    await service.start();

    // What each window writes, and what each source's zero-filled series must be in its flush
    // (written out from the lines, not computed by the code under test).
    const windows: { scheduler?: string; worker?: string; expect: { scheduler: Window; worker: Window } }[] = [
      {
        scheduler: header('ERROR', 1) + TRACEBACK + header('WARNING', 2) + header('INFO', 3),
        worker: header('INFO', 4),
        expect: { scheduler: { ...quiet, LogErrors: 1, LogWarnings: 1, Tracebacks: 1 }, worker: quiet },
      },
      { expect: { scheduler: quiet, worker: quiet } },
      {
        worker: header('ERROR', 5) + header('ERROR', 6) + header('INFO', 7),
        expect: { scheduler: quiet, worker: { ...quiet, LogErrors: 2 } },
      },
      { expect: { scheduler: quiet, worker: quiet } },
      {
        scheduler: header('WARNING', 8) + header('INFO', 9),
        expect: { scheduler: { ...quiet, LogWarnings: 1 }, worker: quiet },
      },
      { expect: { scheduler: quiet, worker: quiet } },
    ];
    for (const w of windows) {
      if (w.scheduler) appendFileSync(scheduler, w.scheduler);
      if (w.worker) appendFileSync(worker, w.worker);
      pipeline.poll();
      await service.flush();
    }
    await service.stop();

    assert.ok(sink.flushes.length >= windows.length, `${sink.flushes.length} flushes`);
    windows.forEach((w, i) => {
      const flush = sink.flushes[i]!;
      for (const [component, queue] of [
        ['scheduler', undefined],
        ['worker', 'default'],
      ] as const) {
        const want = w.expect[component];
        for (const name of Object.keys(want) as (keyof Window)[]) {
          const series = flush.filter(
            (d) =>
              d.name === name &&
              d.dimensions.Component === component &&
              d.dimensions.Queue === queue &&
              d.dimensions.Cluster === 'zeros' &&
              d.dimensions.DAG === undefined,
          );
          assert.equal(series.length, 1, `flush ${i + 1}: ${name}{Component=${component}} is published once`);
          assert.equal(series[0]!.value, want[name], `flush ${i + 1}: ${name}{Component=${component}}`);
        }
      }
    });
  });
});
