/**
 * Rotated scheduler/worker process logs: each file generation is one object
 * `<remotePrefix>/<shipperId>/<relative path>.<first-seen UTC stamp>`. A rename rotation (Python's
 * RotatingFileHandler) keeps the rotated file's object (same inode) and starts one for the new file; a
 * copytruncate starts a new object for the truncated file and keeps the old one whole. Retention never
 * deletes a process log (its writer may still have it open).
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { getObject, shipperFixture, startShipper, testShipperOptions, waitFor } from './helpers/harness.ts';

const line = (who: string, i: number) =>
  `[2025-01-01 00:00:${String(i % 60).padStart(2, '0')},000] {${who}.py:1} INFO - ${who} ${i}\n`;
const lines = (who: string, from: number, n: number) =>
  Array.from({ length: n }, (_, k) => line(who, from + k)).join('');
const STAMP = /^\d{8}T\d{6}Z$/;

test('rotated process logs: rename and copytruncate rotations each keep every line in exactly one object', async () => {
  const fx = await shipperFixture('proclogs');
  const schedulerDir = join(fx.dir, 'scheduler');
  const workerDir = join(fx.dir, 'worker');
  mkdirSync(schedulerDir, { recursive: true });
  mkdirSync(workerDir, { recursive: true });
  const objects = async (prefix: string) => {
    const out = await fx.s3.send(new ListObjectsV2Command({ Bucket: fx.bucket, Prefix: prefix }));
    const found = new Map<string, string>();
    for (const o of out.Contents ?? [])
      found.set(o.Key!.slice(prefix.length), (await getObject(fx.s3, fx.bucket, o.Key!))!.toString());
    return found;
  };
  const sched = join(schedulerDir, 'scheduler.log');
  const celery = join(workerDir, 'celery.log');
  const schedA = lines('scheduler', 0, 50);
  const celeryA = lines('celery', 0, 30);
  writeFileSync(sched, schedA);
  writeFileSync(celery, celeryA);
  const deleted: string[] = [];
  const s = await startShipper(
    testShipperOptions(fx, {
      processLogs: [
        { directory: schedulerDir, include: ['**/*.log*'], remotePrefix: `s3://${fx.bucket}/process/scheduler` },
        { directory: workerDir, include: ['**/*.log*'], remotePrefix: `s3://${fx.bucket}/process/worker` },
      ],
      liveIntervalMs: 300,
      finishQuietMs: 1500,
      deleteAfterShipped: true,
      retainMs: 0,
      onDeleting: (path) => deleted.push(path),
    }),
  );
  const schedPrefix = 'process/scheduler/host-a/';
  const workerPrefix = 'process/worker/host-a/';
  try {
    assert.ok(
      await waitFor(async () => [...(await objects(schedPrefix)).values()].join('') === schedA, 5000),
      'the live scheduler log is shipped',
    );
    const [firstKey] = [...(await objects(schedPrefix)).keys()];
    assert.match(firstKey!, /^scheduler\.log\.\d{8}T\d{6}Z$/);
    assert.ok(await waitFor(async () => [...(await objects(workerPrefix)).values()].join('') === celeryA, 5000));
    const [celeryKey] = [...(await objects(workerPrefix)).keys()];

    // Stamps have one-second resolution: a new generation in the same second would share the key.
    await new Promise((r) => setTimeout(r, 1100));

    // Rename rotation: the last lines land just before the rename, the new file starts at once.
    const schedTail = lines('scheduler', 50, 7);
    appendFileSync(sched, schedTail);
    renameSync(sched, `${sched}.1`);
    const schedB = lines('scheduler', 57, 12);
    writeFileSync(sched, schedB);

    // copytruncate: copy, then truncate in place and keep writing.
    copyFileSync(celery, `${celery}.1`);
    truncateSync(celery, 0);
    const celeryB = lines('celery', 30, 9);
    appendFileSync(celery, celeryB);

    const settled = async () => {
      const sch = await objects(schedPrefix);
      const wrk = await objects(workerPrefix);
      return (
        sch.size === 2 &&
        sch.get(firstKey!) === schedA + schedTail &&
        [...sch.values()].includes(schedB) &&
        wrk.size === 3 &&
        wrk.get(celeryKey!) === celeryA &&
        [...wrk.values()].filter((v) => v === celeryA).length === 2 &&
        [...wrk.values()].includes(celeryB)
      );
    };
    const ok = await waitFor(settled, 8000, 200);
    const sch = await objects(schedPrefix);
    const wrk = await objects(workerPrefix);
    assert.ok(ok, `scheduler: ${JSON.stringify([...sch.keys()])}, worker: ${JSON.stringify([...wrk.keys()])}`);
    // The rotated file kept its key (same inode): no object is named after scheduler.log.1.
    const [, newKey] = [...sch.keys()].sort();
    assert.equal([...sch.keys()].filter((k) => k.startsWith('scheduler.log.1.')).length, 0);
    assert.match(newKey!.slice('scheduler.log.'.length), STAMP);
    // copytruncate: the copy is a new file (its own object), the truncated file a new generation.
    assert.equal([...wrk.keys()].filter((k) => k.startsWith('celery.log.1.')).length, 1);
    assert.equal([...wrk.keys()].filter((k) => /^celery\.log\.\d{8}T\d{6}Z$/.test(k)).length, 2);

    // Quiet past finishQuietMs: final uploads happen, but retention leaves process logs alone. A task
    // log shipped after them is deleted (retention runs), and no process log ever reaches deletion.
    const processFiles = [sched, `${sched}.1`, celery, `${celery}.1`];
    // The journal holds each file's last confirmation: final, at the file's size.
    const finalInJournal = (p: string) =>
      [...s.journal.all()].some((r) => r.path === p && r.final && r.size === statSync(p).size);
    assert.ok(
      await waitFor(() => processFiles.every(finalInJournal), 60_000),
      `final versions of every process log confirmed (journal: ${JSON.stringify([...s.journal.all()].map((r) => [r.path, r.final]))})`,
    );
    const taskLog = join(fx.base, 'dag_id=d/run_id=r/task_id=t/attempt=1.log');
    mkdirSync(join(taskLog, '..'), { recursive: true });
    writeFileSync(
      taskLog,
      `${line('task', 1)}[2025-01-01 00:00:02,000] {local_task_job_runner.py:240} INFO - Task exited with return code 0\n`,
    );
    assert.ok(await waitFor(() => deleted.includes(taskLog), 60_000), 'the task log is deleted by retention');
    assert.deepEqual(deleted, [taskLog], 'retention deleted no process log');
    for (const p of processFiles) assert.ok(existsSync(p), `${p} was not deleted`);
    assert.equal((await objects(schedPrefix)).get(firstKey!), schedA + schedTail);
  } finally {
    await s.stop();
    fx.cleanup();
  }
});
