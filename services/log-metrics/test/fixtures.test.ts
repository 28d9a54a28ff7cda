/**
 * Every real-format fixture of packages/airflow, counted by log-metrics end to end (file -> lines ->
 * records -> events -> counters), against the counts written by hand in its expected.json.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@windsock/core';
import type { CounterSeries } from '../src/counters.ts';
import { LogPipeline } from '../src/pipeline.ts';
import { tempDir } from './helpers.ts';

const FIXTURES = fileURLToPath(new URL('../../../packages/airflow/fixtures/logs/', import.meta.url));

interface Expected {
  levels: Record<string, number>;
  tracebacks: number;
  events: Record<string, number>;
  sentToExecutor: number;
  lineKinds: Record<string, number>;
}

function count(path: string, component = 'test'): CounterSeries[] {
  const p = new LogPipeline({
    cluster: 'fixtures',
    inputs: [{ path, component }],
    startPosition: 'beginning',
    logger: silentLogger(),
    fingerprints: false,
  });
  p.drainFiles();
  const out = p.counts();
  p.close();
  return out;
}

/** Sum of a counter, over every dimension except the `where` ones. */
function sum(series: CounterSeries[], name: string, where: Record<string, string> = {}): number {
  let n = 0;
  for (const s of series) {
    if (s.name !== name) continue;
    if (Object.entries(where).every(([k, v]) => s.dimensions[k] === v)) n += s.value;
  }
  return n;
}

/** The counters an expected.json entry implies. */
function expectedCounters(e: Expected): Record<string, number> {
  const out: Record<string, number> = {
    LogErrors: (e.levels.ERROR ?? 0) + (e.levels.CRITICAL ?? 0),
    LogWarnings: e.levels.WARNING ?? 0,
    Tracebacks: e.tracebacks,
    UnparsedLines: e.lineKinds.unparsed ?? 0,
    TasksSentToExecutor: e.sentToExecutor,
    TasksQueued: e.events.queued ?? 0,
    HeartbeatSuccess: e.events.heartbeat ?? 0,
  };
  const byKind: Record<string, string> = {
    'executor-event': 'ExecutorEvents',
    'task-instance-finished': 'TaskInstancesFinished',
    'task-state-marked': 'TaskStateMarked',
    'task-final-state': 'TaskFinalState',
  };
  const celery: Record<string, string> = {
    received: 'CeleryTasksReceived',
    succeeded: 'CeleryTasksSucceeded',
    failed: 'CeleryTasksFailed',
    retried: 'CeleryTasksRetried',
  };
  for (const [k, v] of Object.entries(e.events)) {
    const [kind, detail] = k.split(':') as [string, string | undefined];
    if (byKind[kind] && detail) out[`${byKind[kind]}{${detail}}`] = v;
    if (kind === 'celery-task' && detail) out[celery[detail]!] = v;
  }
  return out;
}

describe('counting the real-format fixtures of packages/airflow', () => {
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, Expected>;
  const names = Object.keys(expected).filter((k) => !k.startsWith('_'));

  it('has fixtures for every grammar the issue names', () => {
    for (const f of [
      'mwaa-1.10.log',
      'ui-pasted-2.7.log',
      'docker-compose-prefixed.log',
      'task-2.x.json.log',
      'task-3.x.json.log',
      'scheduler-3.x-console.log',
      'worker-celery-2.x.log',
    ]) {
      assert.ok(names.includes(f), f);
    }
  });

  for (const name of names) {
    it(`${name}: every counter equals the hand-counted expectation`, () => {
      const series = count(join(FIXTURES, name));
      const want = expectedCounters(expected[name]!);
      const got: Record<string, number> = {};
      for (const key of Object.keys(want)) {
        const m = /^(\w+)\{(\w+)\}$/.exec(key);
        got[key] = m ? sum(series, m[1]!, { State: m[2]! }) : sum(series, key);
      }
      // Nothing counted that the expectation does not name (states included).
      for (const s of series) {
        if (s.value === 0) continue;
        const key = s.dimensions.State ? `${s.name}{${s.dimensions.State}}` : s.name;
        if (!(key in want)) got[key] = (got[key] ?? 0) + s.value;
      }
      assert.deepEqual(got, want);
    });
  }

  it('counts a task marked twice as two markers, one per state (UI-pasted 2.7 timestamps)', () => {
    const series = count(join(FIXTURES, 'ui-pasted-2.7.log'), 'task');
    assert.equal(sum(series, 'TaskStateMarked', { State: 'SUCCESS' }), 1);
    assert.equal(sum(series, 'TaskStateMarked', { State: 'FAILED' }), 1);
    assert.equal(sum(series, 'HeartbeatSuccess', { Queue: 'reports' }), 1, 'the echoed token, not the command line');
  });

  it('keeps the Queue the Sending line names when 2.10 also prints Trying to enqueue / Adding to queue', () => {
    const series = count(join(FIXTURES, 'scheduler-2.10.log'), 'scheduler');
    const queues = series.filter((s) => s.name === 'TasksSentToExecutor').map((s) => [s.dimensions.Queue, s.value]);
    assert.deepEqual(queues.sort(), [
      ['default', 1],
      ['heavy', 2],
    ]);
    assert.equal(sum(series, 'TaskInstancesFinished', { State: 'UP_FOR_RETRY', Queue: 'heavy' }), 1);
  });

  it('publishes Cluster and Component on every series, and explicit zeros for the zero-filled counters', () => {
    const series = count(join(FIXTURES, 'worker-3.x-console.log'), 'worker');
    for (const s of series) assert.deepEqual([s.dimensions.Cluster, s.dimensions.Component], ['fixtures', 'worker']);
    const zero = series.find((s) => s.name === 'Tracebacks');
    assert.equal(zero?.value, 0);
    assert.equal(sum(series, 'LogErrors'), 1, 'CRITICAL counts as an error');
  });
});

describe('line-level robustness through the whole pipeline', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it('counts CRLF logs like LF logs, and invalid UTF-8 / binary lines as unparsed without crashing', () => {
    const lf = readFileSync(join(FIXTURES, 'worker-celery-2.x.log'), 'utf8');
    writeFileSync(join(dir, 'crlf.log'), lf.replace(/\n/g, '\r\n'));
    const a = count(join(FIXTURES, 'worker-celery-2.x.log'), 'worker');
    const b = count(join(dir, 'crlf.log'), 'worker');
    const strip = (s: CounterSeries[]) => s.map((x) => `${x.name} ${x.dimensions.State ?? ''} ${x.value}`).sort();
    assert.deepEqual(strip(b), strip(a));

    const garbage = Buffer.concat([
      Buffer.from('[2024-05-01T10:00:00.000+0000] {x.py:1} ERROR - before\n'),
      Buffer.from([0xff, 0xfe, 0xfd, 0x0a]), // invalid UTF-8
      Buffer.from([0x00, 0x01, 0x02, 0x7f, 0x0a]), // binary
      Buffer.from('[2024-05-01T10:00:01.000+0000] {x.py:1} WARNING - after\n'),
    ]);
    writeFileSync(join(dir, 'garbage.log'), garbage);
    const g = count(join(dir, 'garbage.log'));
    assert.equal(sum(g, 'UnparsedLines'), 2);
    assert.equal(sum(g, 'LogErrors'), 1);
    assert.equal(sum(g, 'LogWarnings'), 1);
  });

  it('counts a 1 MiB+ line as one line (kept head, rest dropped) and goes on counting', () => {
    const big = `[2024-05-01T10:00:00.000+0000] {x.py:1} ERROR - ${'x'.repeat(3 * 1024 * 1024)}\n`;
    writeFileSync(join(dir, 'big.log'), `${big}[2024-05-01T10:00:01.000+0000] {x.py:1} WARNING - next\n`);
    const p = new LogPipeline({
      cluster: 'c',
      inputs: [{ path: join(dir, 'big.log') }],
      startPosition: 'beginning',
      logger: silentLogger(),
    });
    p.drainFiles();
    const s = p.counts();
    assert.equal(sum(s, 'LogErrors'), 1);
    assert.equal(sum(s, 'LogWarnings'), 1);
    assert.equal(p.stats().truncatedLines, 1);
    assert.equal(p.stats().droppedBytes, Buffer.byteLength(big) - 1 - (1 << 20));
  });
});
