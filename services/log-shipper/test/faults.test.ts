/**
 * A minute of shipping through a fault-injecting proxy in front of moto: 503 SlowDown, bare 503s,
 * connection resets, answers slower than the client's timeout (the write lands, the client does not
 * know), and requests never answered. Afterwards every task log is in S3 exactly (read from moto
 * directly), no final object has wrong content, and no stray sibling key was created.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '@windsock/aws';
import { type Fault, startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { testStack } from '../../../test/helpers/stack.ts';
import { getObject, shipperFixture, startShipper, testShipperOptions, waitFor } from './helpers/harness.ts';

const DURATION_MS = Number(process.env.FAULT_TEST_MS ?? 60_000);

test(`${DURATION_MS / 1000} s of S3 faults: nothing lost, no final object with wrong content`, async () => {
  const stack = await testStack();
  const proxy = await startFaultProxy(stack.motoUrl);
  const fx = await shipperFixture('faults');
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const faults = { throttle: 0, status: 0, reset: 0, slow: 0, timeout: 0 };
  const pick = (kind: keyof typeof faults, fault: Fault): Fault => {
    faults[kind]++;
    return fault;
  };
  proxy.setScript(() => {
    const r = random();
    if (r < 0.12) return pick('throttle', { kind: 'throttle' });
    if (r < 0.17) return pick('status', { kind: 'status', status: 503 });
    if (r < 0.22) return pick('reset', { kind: 'reset' });
    if (r < 0.26) return pick('slow', { kind: 'slow', delayMs: 2500 });
    if (r < 0.28) return pick('timeout', { kind: 'timeout' });
    return undefined;
  });
  const s3 = createS3Client({ endpoint: proxy.url, forcePathStyle: true, maxAttempts: 1, requestTimeoutMs: 1500 });
  const shipper = await startShipper(
    testShipperOptions(fx, { s3, retry: { attempts: 4, baseDelayMs: 50, maxDelayMs: 800 }, liveIntervalMs: 500 }),
  );
  const files = new Map<string, string>();
  const live = new Set<string>();
  let seq = 0;
  try {
    const end = Date.now() + DURATION_MS;
    while (Date.now() < end) {
      if (live.size < 12) {
        const rel = `dag_id=faults/run_id=manual__2025-01-01T00:00:00+00:00/task_id=t${seq++}/attempt=1.log`;
        mkdirSync(dirname(join(fx.base, rel)), { recursive: true });
        files.set(rel, '');
        live.add(rel);
      }
      for (const rel of live) {
        let add = '';
        for (let k = 0, n = 1 + Math.floor(random() * 10); k < n; k++)
          add += `[2025-01-01T00:00:00.000+0000] {x.py:1} INFO - ${rel} ${k} ${'y'.repeat(Math.floor(random() * 200))}\n`;
        if (random() < 0.05) {
          add += '[2025-01-01T00:00:09.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n';
          live.delete(rel);
        }
        appendFileSync(join(fx.base, rel), add);
        files.set(rel, files.get(rel)! + add);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const rel of live) {
      const add = '[2025-01-01T00:00:09.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n';
      appendFileSync(join(fx.base, rel), add);
      files.set(rel, files.get(rel)! + add);
    }
    // Faults keep coming while the backlog drains.
    const drained = await waitFor(
      async () => {
        for (const [rel, content] of files) {
          const obj = await getObject(fx.s3, fx.bucket, `logs/${rel}`);
          if (obj?.toString() !== content) return false;
        }
        return true;
      },
      60_000,
      500,
    );
    for (const [rel, content] of files) {
      assert.equal(readFileSync(join(fx.base, rel), 'utf8'), content);
      assert.equal((await getObject(fx.s3, fx.bucket, `logs/${rel}`))?.toString(), content, `${rel} in S3 differs`);
    }
    assert.ok(drained);
    const listed = await fx.s3.send(new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: 'logs/', MaxKeys: 1000 }));
    assert.deepEqual(
      (listed.Contents ?? []).map((o) => o.Key).sort(),
      [...files.keys()].map((r) => `logs/${r}`).sort(),
    );
    const injected = Object.values(faults).reduce((a, b) => a + b, 0);
    assert.ok(
      faults.throttle > 10 && faults.reset > 3 && faults.slow > 3 && faults.timeout > 0,
      JSON.stringify(faults),
    );
    console.log(
      `# faults: ${files.size} files, ${proxy.requests.length} requests, ${injected} faults ${JSON.stringify(faults)}`,
    );
  } finally {
    await shipper.stop();
    await proxy.close();
    fx.cleanup();
  }
});
