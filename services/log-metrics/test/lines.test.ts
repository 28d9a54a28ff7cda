import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LineHandler, LineSplitter } from '../src/inputs/lines.ts';
import { RecordingHandler } from './helpers.ts';

function splitAll(chunks: Buffer[], max = 1 << 20): { lines: string[]; splitter: LineSplitter } {
  const h = new RecordingHandler();
  const s = new LineSplitter(h, 0, max);
  for (const c of chunks) s.push(c);
  return { lines: h.lines, splitter: s };
}

describe('LineSplitter', () => {
  const text = 'first line\r\nsecond ünïcödé ✓ line\nthird\r\n\nfifth without newline';

  it('gives the same lines whichever byte the chunks are cut at (CRLF, multi-byte UTF-8, empty lines)', () => {
    const bytes = Buffer.from(text);
    const expected = ['first line', 'second ünïcödé ✓ line', 'third', ''];
    for (let cut = 1; cut < bytes.length; cut++) {
      const { lines, splitter } = splitAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(lines, expected, `cut at ${cut}`);
      assert.equal(splitter.lineStart, bytes.indexOf('fifth'), 'the partial last line is held, not delivered');
      assert.equal(splitter.heldBytes, Buffer.byteLength('fifth without newline'));
    }
    const { lines, splitter } = splitAll([bytes]);
    splitter.flushPartial();
    assert.deepEqual(lines.at(-1), 'fifth without newline');
    assert.equal(splitter.committedOffset, bytes.length);
  });

  it('caps a line at maxLineBytes, counts what it dropped, and keeps counting lines after it', () => {
    const huge = 'x'.repeat(3 * 1024 * 1024);
    const data = Buffer.from(`before\n${huge}\nafter\n`);
    // Deliver in 64 KiB chunks, as a tail of a growing file would.
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 65536) chunks.push(data.subarray(i, i + 65536));
    const { lines, splitter } = splitAll(chunks, 1 << 20);
    assert.equal(lines.length, 3);
    assert.equal(lines[0], 'before');
    assert.equal(lines[1]!.length, 1 << 20);
    assert.equal(lines[2], 'after');
    assert.equal(splitter.stats.truncatedLines, 1);
    assert.equal(splitter.stats.droppedBytes, huge.length - (1 << 20));
    assert.equal(splitter.committedOffset, data.length);
    // In one chunk, too.
    const one = splitAll([data], 1 << 20);
    assert.equal(one.lines[1]!.length, 1 << 20);
    assert.equal(one.splitter.stats.truncatedLines, 1);
  });

  it('hands invalid UTF-8 lines over as invalid, valid ones (binary or not) as text, without throwing', () => {
    const garbage = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x0a]), // invalid
      Buffer.from('ok line ✓\n'),
      Buffer.from([0x00, 0x01, 0x02, 0x0a]), // valid UTF-8 control bytes: text for the grammar to judge
      Buffer.from([0xe2, 0x82, 0x0a, 0x80, 0x81, 0x0d, 0x0a]), // two invalid lines
    ]);
    for (let cut = 1; cut < garbage.length; cut++) {
      const { lines, splitter } = splitAll([garbage.subarray(0, cut), garbage.subarray(cut)]);
      assert.deepEqual(lines, ['<invalid>', 'ok line ✓', '\u0000\u0001\u0002', '<invalid>', '<invalid>'], `cut ${cut}`);
      assert.equal(splitter.stats.invalidLines, 3);
    }
  });

  it('does not commit past lines the handler still holds in an open record', () => {
    // A handler whose record stays open from the last line starting with "[" onwards.
    const lines: string[] = [];
    let openFrom = -1;
    const h: LineHandler = {
      line(t) {
        lines.push(t);
        if (t.startsWith('[')) openFrom = lines.length - 1;
      },
      invalidLine() {
        lines.push('');
      },
      pendingLines: () => (openFrom < 0 ? 0 : lines.length - openFrom),
      finish() {
        openFrom = -1;
      },
    };
    const s = new LineSplitter(h, 100, 1 << 20);
    s.push(Buffer.from('plain\n[rec1]\n  cont\n'));
    assert.equal(s.committedOffset, 100 + 'plain\n'.length, 'resume point = start of the open record');
    s.push(Buffer.from('  more cont\n'));
    assert.equal(s.committedOffset, 100 + 'plain\n'.length, 'record still open across chunks');
    s.push(Buffer.from('  x\n[rec2]\n'));
    assert.equal(s.committedOffset, 100 + 'plain\n[rec1]\n  cont\n  more cont\n  x\n'.length);
    s.finish();
    assert.equal(s.committedOffset, s.lineStart);
  });
});
