/**
 * A running task writes its log for 60 s. At every sample the S3 object is a prefix of the local file
 * and holds at least what the file held 5 s earlier; after the end marker it equals the file within 2 s.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { getObject, shipperFixture, startShipper, testShipperOptions } from './helpers/harness.ts';

const DURATION_MS = Number(process.env.LIVE_TEST_MS ?? 60_000);

test(`a task writing for ${DURATION_MS / 1000} s is readable in S3 within 5 s, and whole within 2 s of its end`, async () => {
  const fx = await shipperFixture('live');
  const rel = 'dag_id=live/run_id=manual__2025-01-01T00:00:00+00:00/task_id=long/attempt=1.log';
  const path = join(fx.base, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
  const history: { at: number; size: number }[] = [{ at: Date.now(), size: 0 }];
  const s = await startShipper(testShipperOptions(fx, { liveIntervalMs: 2000, activePollMs: 250 }));
  let size = 0;
  let i = 0;
  let writing = true;
  const writer = (async () => {
    const end = Date.now() + DURATION_MS;
    while (Date.now() < end) {
      const lineCount = 1 + (i % 7);
      let chunk = '';
      for (let k = 0; k < lineCount; k++, i++)
        chunk += `[2025-01-01T00:00:00.000+0000] {op.py:${i}} INFO - progress ${i} ${'x'.repeat(i % 90)}\n`;
      appendFileSync(path, chunk);
      size += Buffer.byteLength(chunk);
      history.push({ at: Date.now(), size });
      await new Promise((r) => setTimeout(r, 20 + (i % 180)));
    }
    writing = false;
  })();
  let samples = 0;
  let worstTrailMs = 0;
  try {
    while (writing) {
      await new Promise((r) => setTimeout(r, 400));
      const at = Date.now();
      const obj = (await getObject(fx.s3, fx.bucket, `logs/${rel}`)) ?? Buffer.alloc(0);
      const local = readFileSync(path);
      assert.ok(local.subarray(0, obj.length).equals(obj), `sample ${samples}: the object is not a prefix of the file`);
      // Everything the file held 5 s before this sample must be in S3.
      const due = [...history].reverse().find((h) => h.at <= at - 5000);
      if (due)
        assert.ok(
          obj.length >= due.size,
          `sample ${samples}: S3 has ${obj.length} bytes, file had ${due.size} 5 s ago`,
        );
      const firstMissing = history.find((h) => h.size > obj.length);
      if (firstMissing) worstTrailMs = Math.max(worstTrailMs, at - firstMissing.at);
      samples++;
    }
    await writer;
    appendFileSync(
      path,
      '[2025-01-01T00:01:00.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n',
    );
    const endedAt = Date.now();
    const final = readFileSync(path);
    let equalAfterMs = -1;
    while (Date.now() - endedAt < 2000) {
      const obj = await getObject(fx.s3, fx.bucket, `logs/${rel}`);
      if (obj?.equals(final)) {
        equalAfterMs = Date.now() - endedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(equalAfterMs >= 0, 'the object did not equal the file within 2 s of the end');
    assert.ok(samples >= DURATION_MS / 1000, `only ${samples} samples`);
    console.log(`# live: ${samples} samples, worst trail ${worstTrailMs} ms, final equal after ${equalAfterMs} ms`);
  } finally {
    await s.stop();
    fx.cleanup();
  }
});
