/**
 * Large logs go up in parts, several at once, within a memory budget shared by all uploads: the
 * object equals the file, S3's composite checksum has one digest per part, a throttled part is
 * retried on its own, and the parts in flight never exceed min(partsInFlight, budget / partSize).
 * Concurrency is observed on the real requests (a wrapper around the S3 client's HTTP handler that
 * counts part requests between send and answer), through a fault-injecting proxy in front of moto.
 * The journal keeps a multipart object's composite checksum, and a restart checks the file against it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { testStack } from '../../../test/helpers/stack.ts';
import { ShipJournal } from '../src/journal.ts';
import { noShipperMetrics } from '../src/metrics.ts';
import { LogShipper } from '../src/shipper.ts';
import { getObject, shipperFixture, startShipper, testShipperOptions, waitFor } from './helpers/harness.ts';

const MIB = 1024 * 1024;

function bigLog(bytes: number, id: string): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const l = `[2025-01-01T00:00:00.000+0000] {bash.py:${i}} INFO - ${id} line ${i} ${'q'.repeat(i % 97)}\n`;
    lines.push(l);
    n += l.length;
  }
  lines.push('[2025-01-01T00:09:00.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n');
  return Buffer.from(lines.join(''));
}

for (const c of [
  { name: 'memory budget of two parts', partsInFlight: 4, budgetBytes: 10 * MIB, maxExpected: 2 },
  { name: 'four parts in flight', partsInFlight: 4, budgetBytes: 64 * MIB, maxExpected: 4 },
]) {
  test(`multipart, ${c.name}: parallel parts, a throttled part retried alone, the object equals the file`, async () => {
    const stack = await testStack();
    const proxy = await startFaultProxy(stack.motoUrl);
    const fx = await shipperFixture('multipart', proxy.url);
    let partsSeen = 0;
    proxy.setScript((_i, req) => {
      if (req.method === 'PUT' && req.path.includes('partNumber=') && ++partsSeen === 2) return { kind: 'throttle' };
      return undefined;
    });
    let inFlight = 0;
    let maxInFlight = 0;
    // Counted at the client's HTTP handler, which every request goes through (parts are sent without the SDK's middleware).
    const transport = fx.s3.config.requestHandler as unknown as {
      handle(request: { query?: Record<string, unknown> }, options?: unknown): Promise<unknown>;
    };
    const handle = transport.handle.bind(transport);
    transport.handle = async (request, options) => {
      if (request.query?.partNumber === undefined) return handle(request, options);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await handle(request, options);
      } finally {
        inFlight--;
      }
    };
    const rel = 'dag_id=big/run_id=r/task_id=huge/attempt=1.log';
    const path = join(fx.base, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bigLog(23 * MIB, 'huge'));
    const s = await startShipper(
      testShipperOptions(fx, {
        multipartThresholdBytes: 16 * MIB,
        partSizeBytes: 5 * MIB,
        partsInFlight: c.partsInFlight,
        multipartMemoryBytes: c.budgetBytes,
      }),
    );
    try {
      const file = readFileSync(path);
      assert.ok(
        await waitFor(
          async () => (await getObject(fx.s3, fx.bucket, `logs/${rel}`))?.equals(file) === true,
          60_000,
          250,
        ),
        'the object equals the file',
      );
      const head = await fx.s3.send(
        new HeadObjectCommand({ Bucket: fx.bucket, Key: `logs/${rel}`, ChecksumMode: 'ENABLED' }),
      );
      const parts = Math.ceil(file.length / (5 * MIB));
      assert.equal(parts, 5);
      // S3's checksum of a multipart object is SHA-256 over the parts' digests (AWS appends `-<parts>`, moto does not).
      const digests = Array.from({ length: parts }, (_, k) =>
        createHash('sha256')
          .update(file.subarray(k * 5 * MIB, (k + 1) * 5 * MIB))
          .digest(),
      );
      const composite = createHash('sha256').update(Buffer.concat(digests)).digest('base64');
      assert.equal((head.ChecksumSHA256 ?? '').replace(/-\d+$/, ''), composite, 'the composite checksum of the parts');
      const partRequests = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('partNumber='));
      assert.equal(partRequests.filter((r) => r.fault === 'throttle').length, 1);
      assert.equal(partRequests.length, parts + 1, 'only the throttled part was sent again');
      assert.equal(
        proxy.requests.filter((r) => r.method === 'POST' && r.path.includes('uploads') && !r.path.includes('uploadId'))
          .length,
        1,
        'one multipart upload: a throttled part does not restart it',
      );
      assert.ok(maxInFlight >= 2, `parts went up in parallel (at most ${maxInFlight} at once)`);
      assert.ok(maxInFlight <= c.maxExpected, `${maxInFlight} parts in flight, the bound is ${c.maxExpected}`);
      console.log(`# multipart (${c.name}): at most ${maxInFlight} parts in flight`);
    } finally {
      await s.stop();
      await proxy.close();
      fx.cleanup();
    }
  });
}

test('a multipart record keeps the composite checksum: a restart trusts it while the parts are unchanged, not after a byte changed', async () => {
  const fx = await shipperFixture('multipart-restart');
  const rel = 'dag_id=big/run_id=r/task_id=restart/attempt=1.log';
  const key = `logs/${rel}`;
  const path = join(fx.base, rel);
  mkdirSync(dirname(path), { recursive: true });
  const content = bigLog(12 * MIB, 'restart');
  writeFileSync(path, content);
  const uploads: string[] = [];
  const reconciled: string[] = [];
  const opts = testShipperOptions(fx, {
    multipartThresholdBytes: 6 * MIB,
    partSizeBytes: 5 * MIB,
    metrics: { ...noShipperMetrics, reconciled: (kind) => reconciled.push(kind) },
    onUploaded: (e) => uploads.push(e.key),
  });
  const more = (n: number) => `[2025-01-01T00:10:00.000+0000] {bash.py:1} INFO - after the end ${n}\n`;
  try {
    assert.deepEqual((await new LogShipper(opts).runOnce()).failed, []);
    const journal = new ShipJournal(join(fx.state, 'log-shipper.journal'));
    await journal.open();
    const record = journal.get(`path:${path}`)!;
    journal.close();
    assert.equal(record.partSize, 5 * MIB);
    const head = await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: key, ChecksumMode: 'ENABLED' }));
    assert.equal(record.sha256, (head.ChecksumSHA256 ?? '').replace(/-\d+$/, ''), "the record keeps S3's composite");

    // The file grew, its first 12 MiB unchanged: the record is trusted (no conflict to reconcile) and
    // the grown file is written over our own object.
    appendFileSync(path, more(1));
    assert.deepEqual((await new LogShipper(opts).runOnce()).failed, []);
    assert.deepEqual(uploads, [key, key]);
    assert.deepEqual(reconciled, [], 'the restart trusted the record');
    const grown = readFileSync(path);
    assert.ok((await getObject(fx.s3, fx.bucket, key))?.equals(grown));

    // One byte changed in the second part, and the file grew: the record is not trusted, and the
    // object (no longer a prefix of the file) is kept while the new content goes beside it.
    const changed = Buffer.concat([grown, Buffer.from(more(2))]);
    changed[7 * MIB] = changed[7 * MIB] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, changed);
    assert.deepEqual((await new LogShipper(opts).runOnce()).failed, []);
    assert.deepEqual(reconciled, ['foreign']);
    assert.equal(uploads.length, 3);
    assert.notEqual(uploads[2], key, 'shipped beside the object');
    assert.ok((await getObject(fx.s3, fx.bucket, key))?.equals(grown), 'the object is untouched');
    assert.ok((await getObject(fx.s3, fx.bucket, uploads[2]!))?.equals(changed), 'the new content is beside it');
  } finally {
    fx.cleanup();
  }
});
