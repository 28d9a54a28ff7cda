import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ShipJournal, type ShipRecord } from '../src/journal.ts';
import { relateRemote } from '../src/reconcile.ts';

const rec = (id: string, size: number): ShipRecord => ({
  id,
  path: `/logs/${id}`,
  bucket: 'b',
  key: `k/${id}`,
  dev: 1,
  ino: 2,
  size,
  sha256: 'x',
  etag: '"e"',
  final: false,
  confirmedAt: 0,
});

test('a journal cut at every byte of its last record loads the records before it, never a corrupt one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  try {
    const file = join(dir, 'j');
    const j = new ShipJournal(file);
    await j.open();
    j.record(rec('a', 10));
    j.record(rec('b', 20));
    j.record(rec('a', 30));
    j.close();
    const full = readFileSync(file);
    const lastStart = full.subarray(0, full.length - 1).lastIndexOf(0x0a) + 1;
    for (let cut = lastStart; cut < full.length; cut++) {
      const f = join(dir, `cut${cut}`);
      appendFileSync(f, full.subarray(0, cut));
      const k = new ShipJournal(f);
      const report = await k.open();
      // Only the newline missing: the record is whole (its CRC matches) and counts.
      const whole = cut === full.length - 1;
      assert.equal(k.get('a')?.size, whole ? 30 : 10, `cut at ${cut}`);
      assert.equal(k.get('b')?.size, 20);
      assert.equal(report.dropped, cut > lastStart && !whole ? 1 : 0);
      k.close();
      // Compaction on open removed the torn tail.
      assert.ok(readFileSync(f, 'utf8').endsWith('\n'));
    }
    const again = new ShipJournal(file);
    await again.open();
    assert.equal(again.get('a')?.size, 30);
    again.close();
    truncateSync(file, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("relateRemote tells our prefix, Airflow's read-modify-write append and foreign content apart", () => {
  const file = Buffer.from('l1\nl2\nl3\n');
  assert.equal(relateRemote(Buffer.from('l1\nl2\n'), file).kind, 'prefix');
  assert.equal(relateRemote(file, file).kind, 'prefix');
  // Airflow: old (our live upload) + "\n" + the whole file.
  assert.deepEqual(relateRemote(Buffer.from('l1\nl2\n\nl1\nl2\nl3\n'), file), {
    kind: 'airflow-append',
    ourPartBytes: 6,
  });
  assert.equal(relateRemote(Buffer.from('other host\n'), file).kind, 'foreign');
  assert.equal(relateRemote(Buffer.from('l1\nl2\nl3\nmore\n'), file).kind, 'foreign');
});

test('group commit: appending does not wait for the disk; sync() covers every record appended before it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  try {
    const file = join(dir, 'j');
    const j = new ShipJournal(file, { compactEvery: 1_000_000 });
    await j.open();
    for (let i = 0; i < 50; i++) j.record(rec(`r${i}`, i));
    const durable = (): number => (j as unknown as { durableSeq: number }).durableSeq;
    assert.equal(durable(), 0, 'no record is known durable before a sync');
    // 50 waiters at once, for records appended before them.
    await Promise.all(Array.from({ length: 50 }, () => j.sync()));
    assert.equal(durable(), 50, 'every record appended before the calls is durable');
    j.record(rec('late', 99));
    await j.sync();
    assert.equal(durable(), 51);
    j.close();
    const again = new ShipJournal(file);
    assert.equal((await again.open()).records, 51);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
