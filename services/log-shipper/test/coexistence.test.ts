/**
 * Windsock and Airflow's own S3 handler on the same keys, with Airflow's read (list the attempt
 * prefix, sort, concatenate) and Airflow's write (read-modify-write append) reproduced against moto.
 * What the UI shows must contain every line of the task log exactly once.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { airflowAppend, airflowRead, airflowReadText } from './helpers/airflow-s3.ts';
import {
  getObject,
  type ShipperFixture,
  shipperFixture,
  startShipper,
  testShipperOptions,
  waitFor,
} from './helpers/harness.ts';

let fx: ShipperFixture;
before(async () => {
  fx = await shipperFixture('coexist');
});
after(() => fx?.cleanup());

let n = 0;
function attempt(): { rel: string; path: string; key: string; base: string; state: string } {
  n++;
  const base = join(fx.dir, `base${n}`);
  const rel = `dag_id=d/run_id=manual__2025-01-01T00:00:00+00:00/task_id=t${n}/attempt=1.log`;
  const path = join(base, rel);
  mkdirSync(dirname(path), { recursive: true });
  return { rel, path, key: `logs/${rel}`, base, state: join(fx.dir, `state${n}`) };
}
const line = (i: number) =>
  `[2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.000+0000] {x.py:1} INFO - line ${i}\n`;
const END = '[2025-01-01T00:01:00.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n';

test('recommended setup (Airflow upload off on workers): the UI reads the file exactly, live and final', async () => {
  const a = attempt();
  writeFileSync(a.path, line(1) + line(2));
  const s = await startShipper(testShipperOptions(fx, { baseLogFolder: a.base, stateDir: a.state }));
  try {
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === line(1) + line(2), 4000));
    appendFileSync(a.path, line(3) + END);
    const full = readFileSync(a.path, 'utf8');
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === full, 3000));
    assert.deepEqual((await airflowRead(fx.s3, fx.bucket, a.key)).keys, [a.key]);
  } finally {
    await s.stop();
  }
});

test("Airflow's append lands before Windsock's final upload: the conflict is detected and the key rewritten as the file", async () => {
  const a = attempt();
  writeFileSync(a.path, line(1) + line(2));
  const s = await startShipper(
    testShipperOptions(fx, {
      baseLogFolder: a.base,
      stateDir: a.state,
      airflowUploads: 'auto',
      liveIntervalMs: 60_000,
      // The shipper sees the file's end only when the test scans (below): otherwise it may ship the
      // end, and reconcile Airflow's append, before the test has looked at Airflow's doubled object.
      watch: false,
      activePollMs: 3_600_000,
      scanIntervalMs: 3_600_000,
    }),
  );
  try {
    assert.ok(
      await waitFor(
        async () => (await getObject(fx.s3, fx.bucket, a.key))?.length === (line(1) + line(2)).length,
        4000,
      ),
    );
    // The task ends; Airflow's handler appends the whole file onto Windsock's live object before Windsock ships the end.
    appendFileSync(a.path, line(3) + END);
    const full = readFileSync(a.path, 'utf8');
    await airflowAppend(fx.s3, fx.bucket, a.key, full);
    assert.equal(
      (await airflowReadText(fx.s3, fx.bucket, a.key)).split('line 1').length - 1,
      2,
      'Airflow alone duplicates',
    );
    await s.scan();
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === full, 5000));
  } finally {
    await s.stop();
  }
});

test("Airflow's append lands after Windsock's final upload: the watch sees it and restores the file's content", async () => {
  const a = attempt();
  writeFileSync(a.path, line(1) + line(2) + END);
  const full = readFileSync(a.path, 'utf8');
  const s = await startShipper(
    testShipperOptions(fx, { baseLogFolder: a.base, stateDir: a.state, airflowUploads: 'on' }),
  );
  try {
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === full, 4000));
    await airflowAppend(fx.s3, fx.bucket, a.key, full);
    assert.equal(await airflowReadText(fx.s3, fx.bucket, a.key), `${full}\n${full}`);
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === full, 5000));
  } finally {
    await s.stop();
  }
});

test('a rescheduled attempt whose earlier pokes another host shipped: nothing overwritten, every line shown once', async () => {
  const a = attempt();
  const hostA = line(1) + line(2);
  // Host A (its own Windsock) shipped the first poke to the attempt key.
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  await fx.s3.send(new PutObjectCommand({ Bucket: fx.bucket, Key: a.key, Body: hostA }));
  // This host ran the next poke: its local file has only its own lines.
  writeFileSync(a.path, line(30) + line(31) + END);
  const hostB = readFileSync(a.path, 'utf8');
  const s = await startShipper(
    testShipperOptions(fx, { baseLogFolder: a.base, stateDir: a.state, shipperId: 'host-b' }),
  );
  try {
    assert.ok(await waitFor(async () => (await airflowRead(fx.s3, fx.bucket, a.key)).keys.length === 2, 5000));
    const read = await airflowRead(fx.s3, fx.bucket, a.key);
    assert.deepEqual(read.keys, [a.key, `${a.key}.windsock-host-b-1`]);
    assert.deepEqual(read.logs, [hostA, hostB]);
  } finally {
    await s.stop();
  }
});

test('a restart with a lost journal adopts its own earlier upload instead of treating it as foreign', async () => {
  const a = attempt();
  writeFileSync(a.path, line(1) + line(2));
  let s = await startShipper(testShipperOptions(fx, { baseLogFolder: a.base, stateDir: a.state }));
  assert.ok(await waitFor(async () => (await getObject(fx.s3, fx.bucket, a.key)) !== undefined, 4000));
  await s.stop();
  appendFileSync(a.path, line(3) + END);
  s = await startShipper(testShipperOptions(fx, { baseLogFolder: a.base, stateDir: `${a.state}-fresh` }));
  try {
    const full = readFileSync(a.path, 'utf8');
    assert.ok(await waitFor(async () => (await airflowReadText(fx.s3, fx.bucket, a.key)) === full, 4000));
    assert.deepEqual((await airflowRead(fx.s3, fx.bucket, a.key)).keys, [a.key]);
  } finally {
    await s.stop();
  }
});
