/**
 * Retention, with the journal's fsync on (as in production): a local task log is deleted only when
 * its final version is confirmed, that record is on disk, `retainSeconds` have passed (or the disk
 * is under pressure) and the file is unchanged since S3 confirmed it. The shipper's clock is the
 * test's (`now`), and its scans are driven by the test, so nothing here waits on wall time: "not
 * deleted" is asserted after a marker file that was due in the same pass has been deleted.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { testStack } from '../../../test/helpers/stack.ts';
import type { ShipRecord } from '../src/journal.ts';
import type { LogShipper, LogShipperOptions, UploadedEvent } from '../src/shipper.ts';
import { getObject, type ShipperFixture, shipperFixture, startShipper, testShipperOptions } from './helpers/harness.ts';

const END = '[2025-01-01T00:00:09.000+0000] {local_task_job_runner.py:240} INFO - Task exited with return code 0\n';
const body = (name: string, lines: number) =>
  Array.from({ length: lines }, (_, i) => `[2025-01-01T00:00:00.000+0000] {op.py:${i}} INFO - ${name} ${i}\n`).join('');
const rel = (task: string) => `dag_id=retain/run_id=manual__2025-01-01T00:00:00+00:00/task_id=${task}/attempt=1.log`;

/** The journal's group-commit counters (private fields, read for this test only). */
interface JournalSeqs {
  appendedSeq: number;
  durableSeq: number;
}

/** A shipper with a test clock, no watcher and no timed scans, recording uploads and deletions. */
async function retentionShipper(fx: ShipperFixture, over: Partial<LogShipperOptions>) {
  let clock = 1_750_000_000_000;
  const uploads: (UploadedEvent & { appendedSeq: number })[] = [];
  const deletions: { path: string; rec: ShipRecord; at: number; durable: boolean; bytes: Buffer }[] = [];
  let shipper: LogShipper | undefined;
  const seqs = () => shipper!.journal as unknown as JournalSeqs;
  shipper = await startShipper(
    testShipperOptions(fx, {
      fsyncJournal: true,
      watch: false,
      scanIntervalMs: 3_600_000, // scans are driven by the test
      finishQuietMs: 3_600_000, // a file is final only through its end marker
      now: () => clock,
      onUploaded: (e) => uploads.push({ ...e, appendedSeq: seqs().appendedSeq }),
      onDeleting: (path, rec) => {
        const final = [...uploads].reverse().find((u) => u.path === path && u.final);
        deletions.push({
          path,
          rec,
          at: clock,
          // Every record appended up to this file's final confirmation is on disk.
          durable: final !== undefined && seqs().durableSeq >= final.appendedSeq,
          bytes: readFileSync(path),
        });
      },
      ...over,
    }),
  );
  const s = shipper;
  const write = (task: string, content: string) => {
    const path = join(fx.base, rel(task));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    return path;
  };
  const until = async (what: string, check: () => boolean) => {
    const end = Date.now() + 60_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const finalOf = (path: string) => uploads.find((u) => u.path === path && u.final);
  /** Ship files found by a scan until each has its final version confirmed. */
  const shipFinal = async (...paths: string[]) => {
    await s.scan();
    await until(`final uploads of ${paths.join(', ')}`, () => paths.every((p) => finalOf(p)));
  };
  /** A scan in which `marker` is due: once it is deleted, every other decision of that pass was made too. */
  const passWithMarker = async (marker: string) => {
    await s.scan();
    await until(`${marker} deleted`, () => deletions.some((d) => d.path === marker));
    await s.journal.sync();
    await s.scan(); // a second pass: anything the first one started has finished
  };
  return {
    s,
    write,
    until,
    uploads,
    deletions,
    finalOf,
    shipFinal,
    passWithMarker,
    setClock: (ms: number) => {
      clock = ms;
    },
    clock: () => clock,
  };
}

test('retention with fsync on: a file is deleted only after its final record is on disk, and S3 holds what was deleted', async () => {
  const fx = await shipperFixture('retain-sync');
  const h = await retentionShipper(fx, { deleteAfterShipped: true, retainMs: 0 });
  try {
    const paths = Array.from({ length: 8 }, (_, i) => h.write(`t${i}`, body(`t${i}`, 20 + i) + END));
    await h.shipFinal(...paths);
    await h.until('all eight deleted', () => paths.every((p) => !existsSync(p)));
    assert.equal(h.deletions.length, 8);
    for (const d of h.deletions) {
      assert.ok(d.durable, `${d.path}: deleted before its final record was on disk`);
      assert.ok(d.rec.final, `${d.path}: its record is final`);
      const obj = await getObject(fx.s3, fx.bucket, `logs/${d.path.slice(fx.base.length + 1)}`);
      assert.ok(obj?.equals(d.bytes), `${d.path}: S3 holds every byte of the deleted file`);
    }
  } finally {
    await h.s.stop();
    fx.cleanup();
  }
});

test('retainSeconds > 0: a confirmed final file is kept until retainSeconds after its confirmation', async () => {
  const fx = await shipperFixture('retain-secs');
  const RETAIN_MS = 600_000;
  const h = await retentionShipper(fx, { deleteAfterShipped: true, retainMs: RETAIN_MS });
  try {
    const t0 = h.clock();
    const marker = h.write('marker', body('marker', 3) + END);
    await h.shipFinal(marker);
    h.setClock(t0 + RETAIN_MS / 2);
    const kept = h.write('kept', body('kept', 5) + END);
    await h.shipFinal(kept);
    assert.equal(h.finalOf(kept)!.confirmedAt, t0 + RETAIN_MS / 2);
    assert.equal(h.deletions.length, 0, 'nothing is deleted before retainSeconds');

    // The marker's retention is over, the other file's is half over: only the marker goes.
    h.setClock(t0 + RETAIN_MS);
    await h.passWithMarker(marker);
    assert.ok(existsSync(kept), 'kept: retainSeconds have not passed since its confirmation');
    assert.deepEqual(
      h.deletions.map((d) => d.path),
      [marker],
    );
    assert.equal(h.deletions[0]!.at, t0 + RETAIN_MS, 'the marker went once its retainSeconds had passed');

    h.setClock(t0 + RETAIN_MS / 2 + RETAIN_MS);
    await h.s.scan();
    await h.until('kept deleted once its retainSeconds passed', () => !existsSync(kept));
    assert.ok(h.deletions.every((d) => d.durable));
  } finally {
    await h.s.stop();
    fx.cleanup();
  }
});

test('disk pressure: confirmed final files are deleted at once (retention off), files not final never', async () => {
  const fx = await shipperFixture('retain-pressure');
  mkdirSync(fx.base, { recursive: true });
  // Any real filesystem has less than 100 % free: the shipper is under pressure from its first check.
  const h = await retentionShipper(fx, { deleteAfterShipped: false, retainMs: 3_600_000, diskPressureFreeRatio: 1 });
  try {
    const running = h.write('running', body('running', 10)); // no end marker: a task still running
    const done = h.write('done', body('done', 10) + END);
    await h.s.scan();
    await h.until('the running log shipped live', () =>
      h.uploads.some((u) => u.path === running && !u.final && u.size === readFileSync(running).length),
    );
    await h.until('the finished log deleted under pressure', () => h.deletions.some((d) => d.path === done));
    await h.s.journal.sync();
    await h.s.scan();
    await h.s.scan();
    assert.ok(existsSync(running), 'a file whose final version is not confirmed is never deleted');
    assert.deepEqual(
      h.deletions.map((d) => d.path),
      [done],
    );
    assert.ok(h.deletions[0]!.durable);
  } finally {
    await h.s.stop();
    fx.cleanup();
  }
});

test('a file that grows while its final upload is in flight is not deleted until the growth is confirmed too', async () => {
  const proxy = await startFaultProxy((await testStack()).motoUrl);
  const fx = await shipperFixture('retain-changed', proxy.url);
  const h = await retentionShipper(fx, { deleteAfterShipped: true, retainMs: 0 });
  // Airflow 2.x writes this right after "Task exited with return code": the race is a real one.
  const late =
    '[2025-01-01T00:00:10.000+0000] {local_task_job_runner.py:245} INFO - 0 downstream tasks scheduled from follow-on schedule check\n';
  try {
    const changed = h.write('changed', body('changed', 6) + END);
    // The moment S3 receives the final upload (its body already read), the task writes one more line.
    let appended = false;
    proxy.setScript((_, req) => {
      if (!appended && req.method === 'PUT' && decodeURIComponent(req.path).includes('task_id=changed/')) {
        appendFileSync(changed, late);
        appended = true;
      }
      return undefined;
    });
    await h.shipFinal(changed);
    assert.ok(appended);
    assert.ok(h.finalOf(changed)!.size < readFileSync(changed).length, 'the late line is not in the confirmed version');
    // A scan sees the growth and ships it; only then may the file go, with every byte in S3.
    await h.s.scan();
    await h.until('changed deleted', () => !existsSync(changed));
    const d = h.deletions.find((x) => x.path === changed)!;
    assert.ok(d.bytes.toString().endsWith(late), 'the deleted file held the late line');
    const obj = await getObject(fx.s3, fx.bucket, `logs/${rel('changed')}`);
    assert.ok(obj?.equals(d.bytes), 'S3 held the whole file, late line included, when it was deleted');
    assert.ok(d.durable);
  } finally {
    await h.s.stop();
    await proxy.close();
    fx.cleanup();
  }
});
