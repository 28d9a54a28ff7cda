/**
 * Colour codes the way real clusters' logs carry them: left in (a terminal-attached container whose
 * collector keeps bytes as they are), or partly stripped by a log collector (the ESC byte removed,
 * or turned into text: rsyslog's `#033`, caret notation `^[`, an unescaped `\u001b` / `\x1b` /
 * `\033`). Every form counts exactly like the plain text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stripAnsi } from '../../src/index.ts';
import { summariseLines } from './summarise.ts';

const FIXTURES = fileURLToPath(new URL('../../fixtures/logs/', import.meta.url));
const ESC = '\u001b';

/** The collector forms of a line that holds real ESC sequences. */
const FORMS: Record<string, (line: string) => string> = {
  'ESC left in': (l) => l,
  'ESC removed': (l) => l.replaceAll(ESC, ''),
  'rsyslog #033': (l) => l.replaceAll(ESC, '#033'),
  'caret ^[': (l) => l.replaceAll(ESC, '^['),
  'literal \\u001b': (l) => l.replaceAll(ESC, '\\u001b'),
  'literal \\x1b': (l) => l.replaceAll(ESC, '\\x1b'),
  'literal \\033': (l) => l.replaceAll(ESC, '\\033'),
};

/**
 * structlog's ConsoleRenderer with colours (Airflow 3's default console logs on a TTY): dim
 * timestamp, coloured padded level, bright event, blue bright logger, cyan keys and magenta values.
 */
function structlogColours(line: string): string {
  const m = /^(\S+) \[(\w+)( *)\] (.*?)( +\[)([\w.]+)\](.*)$/.exec(line);
  if (!m) {
    const head = /^(\S+Z?) \[(\w+)( *)\] (.*)$/.exec(line);
    if (!head) return line;
    return `${ESC}[2m${head[1]}${ESC}[0m [${ESC}[32m${ESC}[1m${head[2]}${head[3]}${ESC}[0m] ${ESC}[1m${head[4]}${ESC}[0m`;
  }
  const level = m[2]!;
  const colour = level === 'error' || level === 'critical' ? '31' : level === 'warning' ? '33' : '32';
  const kv = m[7]!.replace(/(\s)([\w.]+)=(\S+)/g, `$1${ESC}[36m$2${ESC}[0m=${ESC}[35m$3${ESC}[0m`);
  return `${ESC}[2m${m[1]}${ESC}[0m [${ESC}[${colour}m${ESC}[1m${level}${m[3]}${ESC}[0m] ${ESC}[1m${m[4]}${ESC}[0m${m[5]}${ESC}[0m${ESC}[1m${ESC}[34m${m[6]}${ESC}[0m]${kv}`;
}

function lines(name: string): string[] {
  const text = readFileSync(`${FIXTURES}${name}`, 'utf8');
  return text.split('\n').slice(0, text.endsWith('\n') ? -1 : undefined);
}

describe('ANSI colour codes, left in or partly stripped, count like plain text', () => {
  const cases: [string, string[]][] = [
    ['Airflow 2 colored_log_format (scheduler-2.7-colored.log)', lines('scheduler-2.7-colored.log')],
    [
      'Airflow 3 structlog console with colours (scheduler-3.x-console.log, coloured)',
      lines('scheduler-3.x-console.log').map(structlogColours),
    ],
    [
      'Airflow 3 structlog worker console with colours (worker-3.x-console.log, coloured)',
      lines('worker-3.x-console.log').map(structlogColours),
    ],
  ];
  for (const [label, coloured] of cases) {
    it(`${label}: every form gives the plain text's counts`, () => {
      assert.ok(
        coloured.some((l) => l.includes(ESC)),
        'the input really is coloured',
      );
      const plain = summariseLines(coloured.map((l) => stripAnsi(l))).summary;
      assert.ok(Object.keys(plain.events).length > 0, 'the fixture tells events');
      for (const [form, apply] of Object.entries(FORMS)) {
        const got = summariseLines(coloured.map(apply)).summary;
        assert.deepEqual(got, plain, form);
      }
    });
  }

  it('keeps text that only looks like colour residue where it matters: timestamps, SQL, lists', () => {
    assert.equal(
      stripAnsi('[2024-05-01 10:00:00,000: INFO/MainProcess] [SQL: x]', true),
      '[2024-05-01 10:00:00,000: INFO/MainProcess] [SQL: x]',
    );
    assert.equal(stripAnsi('[32mINFO[0m - [1mSending[22m', true), 'INFO - Sending');
    assert.equal(stripAnsi('#033[32mINFO#033[0m', true), 'INFO');
  });
});
