/**
 * A journal line whose bytes changed but still parse (a flipped digit: what a torn sector or a bad
 * write can leave) fails its CRC and is dropped: the shipper never trusts a confirmed size that no
 * upload confirmed. The earlier record of the same file is what loads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ShipJournal, type ShipRecord } from '../src/journal.ts';

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

test('a journal line changed in place (still valid JSON) fails its CRC and is dropped on load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-crc-'));
  try {
    const file = join(dir, 'j');
    const j = new ShipJournal(file);
    await j.open();
    j.record(rec('a', 1000));
    j.record(rec('b', 2000));
    j.record(rec('a', 3000));
    j.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    const last = lines.findIndex((l) => l.includes('"size":3000'));
    assert.ok(last >= 0);
    // 3000 -> 9000: the JSON still parses, the record would claim 6,000 bytes no upload confirmed.
    lines[last] = lines[last]!.replace('"size":3000', '"size":9000');
    JSON.parse(lines[last]!.slice(9));
    writeFileSync(file, lines.join('\n'));
    const k = new ShipJournal(file);
    const report = await k.open();
    assert.equal(report.dropped, 1, 'the changed line is dropped');
    assert.equal(k.get('a')?.size, 1000, "a's earlier record loads, not the changed one");
    assert.equal(k.get('b')?.size, 2000);
    k.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
