/**
 * The byte fast path (`SourceCounter.lineBlock`: quiet headers and quiet continuations classified in
 * their bytes) counts exactly what the line-by-line path counts, on every fixture of
 * packages/airflow and on lines built to sit on each edge of the quiet classification, whatever
 * byte the chunks are cut at. Also: the checkpoint position (`committedOffset`) is the same.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CountingEngine } from '../src/engine.ts';
import { type LineHandler, LineSplitter } from '../src/inputs/lines.ts';

const FIXTURES = fileURLToPath(new URL('../../../packages/airflow/fixtures/logs/', import.meta.url));

/** The same counter, without the fast path: the splitter then hands over every line as text. */
function perLine(h: LineHandler): LineHandler {
  return {
    line: (t) => h.line(t),
    invalidLine: (t) => h.invalidLine(t),
    pendingLines: () => h.pendingLines(),
    finish: () => h.finish(),
  };
}

function count(data: Buffer, fast: boolean, cuts: number[]) {
  const engine = new CountingEngine({ cluster: 'c' });
  const source = engine.source({ component: 'scheduler', stream: 's' });
  const splitter = new LineSplitter(fast ? source : perLine(source), 0, 1 << 20);
  const commits: number[] = [];
  let at = 0;
  for (const cut of [...cuts, data.length]) {
    splitter.push(data.subarray(at, cut));
    commits.push(splitter.committedOffset);
    at = cut;
  }
  splitter.flushPartial();
  splitter.finish();
  const counts = engine
    .drain()
    .map((s) => `${s.name} ${JSON.stringify(s.dimensions)} ${s.value}`)
    .sort();
  return { counts, commits, lines: splitter.stats.lines, invalid: splitter.stats.invalidLines };
}

function assertSame(data: Buffer, label: string, cutsList: number[][]) {
  for (const cuts of cutsList) {
    const slow = count(data, false, cuts);
    const fast = count(data, true, cuts);
    assert.deepEqual(fast, slow, `${label}, cuts ${cuts.join(',') || 'none'}`);
  }
}

const T = '[2024-05-01T10:00:00.000+0000]';
const C = '[2024-05-01 10:00:00,000: INFO/MainProcess]';
/** Lines on each edge of the quiet classification (each followed, in turn, by each other). */
const EDGES = [
  `${T} {x.py:1} INFO - plain quiet`,
  `${T} {x.py:1} DEBUG - debug quiet`,
  `${T} {x.py:1} INFO - `,
  `${T} {x.py:1} INFO -`,
  `${T} {x.py:1} INFO`,
  `${T} {x.py:1} info - lower-case level`,
  `${T} {x.py:1} ERROR - an error`,
  `${T} {x.py:1} WARNING - a warning`,
  `${T} {{x.py:1}} INFO - mwaa`,
  `${T} {x.py:1} INFO - Sending TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=1, map_index=-1) to executor with priority 1 and queue q`,
  `${T} {x.py:1} INFO - Received executor event with state success for task instance TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=1, map_index=-1)`,
  `${T} {x.py:1} INFO - Setting the following tasks to queued state:`,
  `\t<TaskInstance: d.t r [scheduled]>`,
  `${T} {x.py:1} INFO - Task exited with return code 0`,
  `${T} {x.py:1} INFO - 1 tasks up for execution:`,
  `${T} {x.py:1} INFO - Done. Marking task as SUCCESS. dag_id=d, task_id=t, run_id=r, map_index=-1`,
  `${T} {x.py:1} INFO - WINDSOCK_HEARTBEAT_OK queue=q`,
  `${C} Task a.b[1234-ab] received`,
  `${C} Task a.b[1234-ab] succeeded in 0.1s: None`,
  `${C} Task exited`,
  `${C} a.b[1234-ab]: Executing command`,
  `${C} [1234-ab] Executing command in Celery`,
  `[2024-05-01 10:00:00,000: ERROR/ForkPoolWorker-1] Task a.b[1234-ab] raised unexpected: X()`,
  'Traceback (most recent call last):',
  '  File "x.py", line 1, in <module>',
  'ValueError: boom',
  'During handling of the above exception, another exception occurred:',
  'message line of a multi-line record',
  '',
  '   ',
  '--------------------------------------------------------------------------------',
  '--',
  '*** Found local files:',
  '127.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1',
  'scheduler | [2024-05-01T10:00:00.000+0000] {x.py:1} INFO - prefixed',
  `\u001b[32m${T} {x.py:1} INFO - coloured\u001b[0m`,
  `${T} {x.py:1} INFO - [32mSending TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=2, map_index=-1) to executor with priority 1 and queue q[0m`,
  `${T} {x.py:1} INFO - #033[32mReceived executor event with state failed for task instance TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=2, map_index=-1)#033[0m`,
  `[${T.slice(1, -1)}[0m] {x.py:1} [31mERROR[0m - residue in the header`,
  `${C} [1mTask a.b[1234-ab] received[0m`,
  `${T} {x.py:1} INFO - with \u0000 NUL`,
  `${T} {x.py:1} INFO - ünïcödé`,
  `${T} {x.py:1} ERROR - Ünïcödé error`,
  `  indented ✓`,
  '[SQL: SELECT 1',
  'FROM t]',
  '╭─── Traceback (most recent call last) ───╮',
];

describe('byte fast path = line-by-line path', () => {
  for (const name of readdirSync(FIXTURES).filter((f) => f.endsWith('.log'))) {
    it(`${name}: same counts, lines and commit points, whole and cut at many bytes`, () => {
      const data = readFileSync(join(FIXTURES, name));
      const cuts: number[][] = [[]];
      for (let step = 97; step < data.length; step *= 3) {
        const c: number[] = [];
        for (let at = step; at < data.length; at += step) c.push(at);
        cuts.push(c);
      }
      assertSame(data, name, cuts);
      assertSame(Buffer.from(data.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'), `${name} CRLF`, [[]]);
    });
  }

  it('every pair of edge lines, in both orders, with a quiet line around them', () => {
    const quiet = EDGES[0]!;
    const parts: string[] = [];
    for (const a of EDGES) for (const b of EDGES) parts.push(quiet, a, b);
    const data = Buffer.from(`${parts.join('\n')}\n`);
    assertSame(data, 'edges', [[], [data.length >> 1], [1000, 5000, 20_000, 50_000]]);
  });

  it('invalid UTF-8 and NUL bytes inside counted records', () => {
    const bad = Buffer.concat([
      Buffer.from(`${T} {x.py:1} INFO - quiet\n`),
      Buffer.from(`${T} {x.py:1} ERROR - bad byte `),
      Buffer.from([0xff, 0x0a]),
      Buffer.from(`${T} {x.py:1} WARNING - nul `),
      Buffer.from([0x00, 0x41, 0x0a]),
      Buffer.from([0xc3, 0x28, 0x0a]),
      Buffer.from(`${T} {x.py:1} INFO - quiet ✓\n`),
    ]);
    assertSame(bad, 'invalid', [[], [10], [60, 61, 62]]);
    const fast = count(bad, true, []);
    assert.ok(
      fast.counts.some((c) => c.startsWith('LogErrors') && c.endsWith(' 1')),
      fast.counts.join('\n'),
    );
    assert.ok(
      fast.counts.some((c) => c.startsWith('LogWarnings') && c.endsWith(' 1')),
      fast.counts.join('\n'),
    );
    assert.ok(
      fast.counts.some((c) => c.startsWith('UnparsedLines') && c.endsWith(' 1')),
      fast.counts.join('\n'),
    );
  });
});
