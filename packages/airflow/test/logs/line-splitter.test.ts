import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type LineKind,
  LogLineSplitter,
  type LogRecord,
  RecordAssembler,
  type UnparsedReason,
} from '../../src/index.ts';
import { summariseBytes } from './summarise.ts';

const H = (level: string, msg: string) => `[2024-05-01T10:00:00.000+0000] {x.py:1} ${level} - ${msg}`;

function run(chunks: Uint8Array[], maxLineBytes?: number) {
  const records: LogRecord[] = [];
  const kinds: LineKind[] = [];
  const reasons: UnparsedReason[] = [];
  const asm = new RecordAssembler((r) => records.push(r), { onUnparsed: (_l, r) => reasons.push(r) });
  const splitter = new LogLineSplitter(asm, (k) => kinds.push(k), maxLineBytes ? { maxLineBytes } : {});
  for (const c of chunks) splitter.push(c);
  const beforeEnd = { complete: splitter.completeBytes, pending: splitter.pendingBytes };
  splitter.end();
  asm.flush();
  return { records, kinds, reasons, splitter, beforeEnd };
}

describe('LogLineSplitter', () => {
  it('gives the same result whatever the chunk boundaries, multi-byte characters included', () => {
    const text = `${H('ERROR', 'naïve café ✓ 日本')}\r\nTraceback (most recent call last):\r\n  File "é.py"\r\nE: ✗\r\n${H('INFO', 'ok')}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const whole = summariseBytes(bytes).summary;
    for (let size = 1; size <= 9; size++) assert.deepEqual(summariseBytes(bytes, size).summary, whole, `chunk ${size}`);
    assert.deepEqual(whole.lineKinds, { header: 2, continuation: 3 });
    const { records } = run([bytes]);
    assert.equal(records[0]!.header.message, 'naïve café ✓ 日本', 'CR removed, UTF-8 kept');
  });

  it('holds a partial last line until its newline, and reports the checkpointable offset', () => {
    const a = Buffer.from(`${H('INFO', 'one')}\n${H('ERROR', 'two').slice(0, -1)}`);
    const { beforeEnd, kinds, splitter } = run([a]);
    assert.equal(beforeEnd.complete, Buffer.byteLength(`${H('INFO', 'one')}\n`));
    assert.equal(beforeEnd.pending, a.length - beforeEnd.complete);
    assert.deepEqual(kinds, ['header', 'header'], 'end() emits the unterminated line');
    assert.equal(splitter.completeBytes, a.length);
  });

  it('classifies a line over 64 KiB normally, across chunk boundaries', () => {
    const message = 'y'.repeat(100 * 1024);
    const bytes = Buffer.from(`${H('WARNING', message)}\n`);
    const { records } = run([bytes.subarray(0, 30_000), bytes.subarray(30_000, 70_000), bytes.subarray(70_000)]);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.level, 'WARNING');
    assert.equal(records[0]!.header.message.length, message.length);
  });

  it('bounds memory on a line longer than maxLineBytes: classified by its head, counted as truncated', () => {
    const huge = Buffer.from(`${H('ERROR', 'z'.repeat(2 * 1024 * 1024))}\n${H('INFO', 'next')}\n`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < huge.length; i += 65536) chunks.push(huge.subarray(i, i + 65536));
    const { records, splitter } = run(chunks, 1024 * 1024);
    assert.deepEqual(
      records.map((r) => r.level),
      ['ERROR', 'INFO'],
    );
    assert.equal(splitter.truncatedLines, 1);
    assert.equal(records[0]!.header.message.length, 1024 * 1024 - H('ERROR', '').length);
    assert.equal(splitter.completeBytes, huge.length);
  });

  it('counts invalid UTF-8 and binary lines as unparsed, and keeps going', () => {
    const bytes = Buffer.concat([
      Buffer.from(`${H('INFO', 'before')}\n`),
      Buffer.from([0x5b, 0x32, 0xff, 0xfe, 0x0a]), // "[2" then invalid bytes
      Buffer.from([0xc3, 0x28, 0x0a]), // invalid continuation byte
      Buffer.from('a\u0000b\n'),
      Buffer.from(`${H('ERROR', 'after')}\n`),
      Buffer.from('real replacement char \ufffd is fine\n'),
    ]);
    const { kinds, reasons, records } = run([bytes]);
    // The last line is text right after a header: a multi-line message, part of the ERROR record.
    assert.deepEqual(kinds, ['header', 'unparsed', 'unparsed', 'unparsed', 'header', 'continuation']);
    assert.deepEqual(reasons, ['invalid-utf8', 'invalid-utf8', 'binary']);
    assert.deepEqual(
      records.map((r) => r.level),
      ['INFO', 'ERROR'],
    );
  });

  it('never throws on random bytes and classifies every line once', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const fixture = readFileSync(join(import.meta.dirname, '../../fixtures/logs/worker-celery-2.x.log'));
    for (let trial = 0; trial < 50; trial++) {
      const bytes = Buffer.alloc(20_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rand() & 0xff;
      // Splice real lines in so garbage and records interleave.
      fixture.copy(bytes, rand() % 10_000, 0, 3000);
      const newlines = bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
      const { kinds } = run([bytes.subarray(0, 7000), bytes.subarray(7000)]);
      const expectedLines = newlines + (bytes[bytes.length - 1] === 10 ? 0 : 1);
      assert.equal(kinds.length, expectedLines);
    }
  });
});
