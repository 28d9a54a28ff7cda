/**
 * A running task writes its log for 60 s. At every sample the S3 object is a prefix of the local file;
 * the object grows while the task runs (live uploads, each of whole lines), and after the end marker it
 * equals the file. Nothing here is bounded by the clock (a loaded machine delays uploads, not their
 * order): how far S3 trails the file is printed here and measured by bench/log-shipper.bench.ts.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { getObject, shipperFixture, startShipper, testShipperOptions } from './helpers/harness.ts';

const DURATION_MS = Number(process.env.LIVE_TEST_MS ?? 60_000);

test(`a task writing for ${DURATION_MS / 1000} s is readable in S3 while it runs, as a prefix of whole lines, and whole after its end`, async () => {
  const fx = await shipperFixture('live');
  const rel = 'dag_id=live/run_id=manual__2025-01-01T00:00:00+00:00/task_id=long/attempt=1.log';
  const path = join(fx.base, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
  const history: { at: number; size: number }[] = [{ at: Date.now(), size: 0 }];
  const live: { size: number; at: number }[] = [];
  const finals: number[] = [];
  const s = await startShipper(
    testShipperOptions(fx, {
      liveIntervalMs: 2000,
      activePollMs: 250,
      onUploaded: (e) => (e.final ? finals.push(e.size) : live.push({ size: e.size, at: Date.now() })),
    }),
  );
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
      assert.ok(
        obj.length === 0 || obj[obj.length - 1] === 0x0a,
        `sample ${samples}: the object ends with a whole line`,
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
    // Live uploads happened while the task ran, each one growing the object (never a final one).
    const duringRun = live.filter((u) => u.at < endedAt);
    assert.ok(duringRun.length >= 2, `only ${duringRun.length} live uploads while the task ran`);
    for (let k = 1; k < duringRun.length; k++) assert.ok(duringRun[k]!.size > duringRun[k - 1]!.size);
    assert.equal(finals.length, 0, 'no final upload before the end marker');
    const deadline = Date.now() + 60_000; // a bound for a stuck test, not a latency target
    let equalAfterMs = -1;
    while (Date.now() < deadline) {
      const obj = await getObject(fx.s3, fx.bucket, `logs/${rel}`);
      if (obj?.equals(final) && finals.includes(final.length)) {
        equalAfterMs = Date.now() - endedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(equalAfterMs >= 0, 'the object equals the file, confirmed final, after the end marker');
    assert.ok(samples >= 2, `only ${samples} samples`);
    console.log(
      `# live: ${samples} samples, ${duringRun.length} live uploads, worst trail ${worstTrailMs} ms, final equal after ${equalAfterMs} ms`,
    );
  } finally {
    await s.stop();
    fx.cleanup();
  }
});
