import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { splitLines, summariseBytes, summariseLines } from './summarise.ts';

const dir = join(import.meta.dirname, '../../fixtures/logs');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown>;
const files = readdirSync(dir).filter((f) => f.endsWith('.log'));

describe('real-format fixtures', () => {
  it('every fixture has hand-written expectations and vice versa', () => {
    const listed = Object.keys(expected).filter((k) => !k.startsWith('_'));
    assert.deepEqual(listed.sort(), [...files].sort());
  });

  for (const file of files) {
    it(`${file}: line kinds, levels, formats, tracebacks and events match the hand count`, () => {
      const bytes = readFileSync(join(dir, file));
      const { summary } = summariseBytes(bytes);
      assert.deepEqual(summary, expected[file]);
    });

    it(`${file}: the string fast path and 7-byte chunks agree with the byte path`, () => {
      const bytes = readFileSync(join(dir, file));
      const viaBytes = summariseBytes(bytes).summary;
      assert.deepEqual(summariseLines(splitLines(bytes.toString('utf8'))).summary, viaBytes);
      assert.deepEqual(summariseBytes(bytes, 7).summary, viaBytes);
    });
  }

  it('every physical line is classified exactly once', () => {
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      const { summary } = summariseLines(splitLines(text));
      const total = Object.values(summary.lineKinds).reduce((a, b) => a + b, 0);
      assert.equal(total, splitLines(text).length, file);
    }
  });
});
