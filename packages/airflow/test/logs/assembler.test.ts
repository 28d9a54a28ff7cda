import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LogRecord, RecordAssembler, type UnparsedReason } from '../../src/index.ts';
import { summariseLines } from './summarise.ts';

const H = (level: string, msg: string) => `[2024-05-01T10:00:00.000+0000] {x.py:1} ${level} - ${msg}`;

function assemble(lines: string[]) {
  const records: LogRecord[] = [];
  const unparsed: UnparsedReason[] = [];
  const asm = new RecordAssembler((r) => records.push(r), { onUnparsed: (_l, reason) => unparsed.push(reason) });
  const kinds = lines.map((l) => asm.push(l));
  asm.flush();
  return { records, kinds, unparsed };
}

describe('RecordAssembler', () => {
  it('a chained traceback ("During handling ...") is one traceback; two separate ones are two', () => {
    const chained = assemble([
      H('ERROR', 'Task failed with exception'),
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in f',
      'KeyError: 1',
      '',
      'During handling of the above exception, another exception occurred:',
      '',
      'Traceback (most recent call last):',
      '  File "b.py", line 2, in g',
      'ValueError: 2',
    ]);
    assert.equal(chained.records.length, 1);
    assert.equal(chained.records[0]!.tracebacks, 1);

    const separate = assemble([
      H('ERROR', 'two failures'),
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in f',
      'KeyError: 1',
      'Traceback (most recent call last):',
      '  File "b.py", line 2, in g',
      'ValueError: 2',
    ]);
    assert.equal(separate.records[0]!.tracebacks, 2);
  });

  it('level comes from the header only: an INFO record whose exception says Error: is not an error', () => {
    const { records } = assemble([
      H('INFO', 'retrying'),
      'Traceback (most recent call last):',
      '  File "r.py", line 3, in send',
      'requests.exceptions.ConnectionError: Error: refused',
      'ERROR: this unindented message line belongs to the exception',
    ]);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.level, 'INFO');
    assert.equal(records[0]!.continuation.length, 4);
  });

  it('continuation lines never become records, whatever they say', () => {
    const { records, kinds } = assemble([
      H('INFO', 'Setting the following tasks to queued state:'),
      '\t<TaskInstance: d.t r [scheduled]>',
      '\tERROR - not a header',
      '--------------------------------------------------------------------------------',
      '[SQL: SELECT 1',
      'FROM x]',
      '[parameters: {}]',
      '(Background on this error at: https://sqlalche.me/e/14/e3q8)',
    ]);
    assert.equal(records.length, 1);
    assert.deepEqual(kinds, ['header', ...Array(7).fill('continuation')]);
  });

  it('a traceback with no header (a crash on stderr) is a record with no level', () => {
    const { records, kinds } = assemble([
      'Traceback (most recent call last):',
      '  File "/usr/bin/airflow", line 8, in <module>',
      'ModuleNotFoundError: No module named airflow',
    ]);
    assert.deepEqual(kinds, ['traceback', 'continuation', 'continuation']);
    assert.equal(records[0]!.level, null);
    assert.equal(records[0]!.header.format, 'bare-traceback');
    assert.equal(records[0]!.tracebacks, 1);
  });

  it('classifies level-less lines as unparsed with a reason, and they end the open record', () => {
    const { records, kinds, unparsed } = assemble([
      H('INFO', 'x'),
      '*** Found local files:',
      '127.0.0.1 - - [01/May/2024:10:00:05 +0000] "GET /health HTTP/1.1" 200 318',
      'hello from print()',
      '    indented but no record open',
    ]);
    assert.equal(records.length, 1);
    assert.deepEqual(kinds, ['header', 'unparsed', 'unparsed', 'unparsed', 'unparsed']);
    assert.deepEqual(unparsed, ['ui-header', 'access-log', 'text', 'text']);
  });

  it('a bare print right after a traceback exception line stays in the record until a blank line', () => {
    const { kinds } = assemble([
      H('ERROR', 'x'),
      'Traceback (most recent call last):',
      'E: y',
      'more text',
      '',
      'print',
    ]);
    assert.deepEqual(kinds, ['header', 'continuation', 'continuation', 'continuation', 'blank', 'unparsed']);
  });

  it('a 3.x multi-line event absorbs every line until its [logger] suffix, then fills logger and fields', () => {
    const { records, kinds } = assemble([
      '2026-04-13T17:31:50.100000Z [info     ] Line one of a message',
      'line two, not indented',
      'line three [airflow.task] k=v loc=x.py:3',
      'print after the event',
    ]);
    assert.deepEqual(kinds, ['header', 'continuation', 'continuation', 'unparsed']);
    assert.equal(records[0]!.header.logger, 'airflow.task');
    assert.equal(records[0]!.header.fields, 'k=v loc=x.py:3');
  });

  it('assembles interleaved docker compose services per prefix', () => {
    const { records } = assemble([
      `a-1  | ${H('ERROR', 'a failed')}`,
      `b-1  | ${H('WARNING', 'b warned')}`,
      'a-1  | Traceback (most recent call last):',
      'b-1  |   File "b.py", line 1, in f',
      'a-1  | ValueError: a',
    ]);
    const byPrefix = new Map(records.map((r) => [r.prefix, r]));
    assert.equal(byPrefix.get('a-1')!.tracebacks, 1);
    assert.deepEqual(byPrefix.get('a-1')!.continuation, ['Traceback (most recent call last):', 'ValueError: a']);
    assert.deepEqual(byPrefix.get('b-1')!.continuation, ['  File "b.py", line 1, in f']);
  });

  it('reads `scheduler | ` and honcho prefixes, but not a `|` in free text', () => {
    const { records, kinds } = assemble([
      `scheduler | ${H('INFO', 'a')}`,
      `17:31:54 scheduler.1 | ${H('ERROR', 'b')}`,
      'x = a | b',
    ]);
    assert.deepEqual(
      records.map((r) => [r.prefix, r.level]),
      [
        ['scheduler', 'INFO'],
        ['scheduler.1', 'ERROR'],
      ],
    );
    assert.equal(kinds[2], 'unparsed');
  });

  it('joins honcho lines printed in different seconds to one record', () => {
    const { records, kinds } = assemble([
      `10:00:21 scheduler.1 | ${H('ERROR', 'x')}`,
      '10:00:21 scheduler.1 | Traceback (most recent call last):',
      '10:00:22 scheduler.1 |   File "a.py", line 1, in f',
      '10:00:22 scheduler.1 | ValueError: y',
    ]);
    assert.deepEqual(kinds, ['header', 'continuation', 'continuation', 'continuation']);
    assert.equal(records[0]!.tracebacks, 1);
  });

  it('keeps at most maxStoredLines continuation lines but counts them all', () => {
    const records: LogRecord[] = [];
    const asm = new RecordAssembler((r) => records.push(r), { maxStoredLines: 3 });
    asm.push(H('ERROR', 'x'));
    for (let i = 0; i < 10; i++) assert.equal(asm.push(`  frame ${i}`), 'continuation');
    asm.flush();
    assert.equal(records[0]!.continuation.length, 3);
    assert.equal(records[0]!.lineCount, 11);
  });

  it('a record is emitted only when the next header, an unparsed line or flush() ends it', () => {
    const records: LogRecord[] = [];
    const asm = new RecordAssembler((r) => records.push(r));
    asm.push(H('INFO', 'one'));
    asm.push('  cont');
    assert.equal(records.length, 0);
    assert.equal(asm.openRecords, 1);
    asm.push(H('INFO', 'two'));
    assert.equal(records.length, 1);
    asm.flush();
    assert.equal(records.length, 2);
    assert.equal(asm.openRecords, 0);
  });

  it('strips CR (CRLF files) and ANSI before classifying', () => {
    const { summary } = summariseLines([
      `${H('ERROR', 'crlf')}\r`,
      'Traceback (most recent call last):\r',
      'E: x\r',
      '\r',
      '\u001b[31m[2024-05-01T10:00:00.000+0000] {x.py:1} WARNING - coloured\u001b[0m',
    ]);
    assert.deepEqual(summary.lineKinds, { header: 2, continuation: 2, blank: 1 });
    assert.deepEqual(summary.levels, { ERROR: 1, WARNING: 1 });
    assert.equal(summary.tracebacks, 1);
  });

  it('skips the NUL run copytruncate leaves before a line, and calls NULs inside a line binary', () => {
    const { kinds, records, unparsed } = assemble([
      `\u0000\u0000\u0000${H('ERROR', 'after hole')}`,
      'a\u0000b',
      '\u0000\u0000',
    ]);
    assert.deepEqual(kinds, ['header', 'unparsed', 'unparsed']);
    assert.deepEqual(unparsed, ['binary', 'binary']);
    assert.equal(records[0]!.level, 'ERROR');
  });

  it('a header line over 64 KiB is still one header, with the whole message', () => {
    const big = 'x'.repeat(70 * 1024);
    const { records } = assemble([H('ERROR', big)]);
    assert.equal(records[0]!.header.message.length, big.length);
  });
});
