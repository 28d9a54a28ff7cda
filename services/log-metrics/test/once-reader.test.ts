import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compilePattern } from '@windsock/logfiles';
import { onceFiles } from '../src/inputs/once-reader.ts';
import { tempDir } from './helpers.ts';

const { dir, cleanup } = tempDir('lm-once-');
after(cleanup);

// An Airflow-like tree: scheduler logs, worker logs and task logs two levels down.
for (const f of [
  'scheduler/latest.log',
  'scheduler/2024-05-01.log',
  'worker/worker-1.log',
  'worker/worker-1.log.1',
  'logs/dag_id=a/run_id=r1/task_id=t1/attempt=1.log',
  'logs/dag_id=a/run_id=r1/task_id=t2/attempt=1.log',
  'logs/dag_id=b/run_id=r2/task_id=t1/attempt=1.log',
  'logs/dag_id=b/run_id=r2/task_id=t1/attempt=2.log',
  'logs/.hidden/x.log',
]) {
  mkdirSync(join(dir, f, '..'), { recursive: true });
  writeFileSync(join(dir, f), 'x\n');
}
const input = (path: string) => ({ path: join(dir, path), component: undefined, queue: undefined });

describe('--once file listing', () => {
  it('names each file once, for the first input that names it, in the walk order', () => {
    const inputs = [
      input('scheduler/*.log'),
      input('**/*.log'),
      input('worker/worker-1.log*'),
      input('logs/dag_id=*/run_id=*/task_id=*/attempt=*.log'),
      input('scheduler/latest.log'),
    ];
    const files = [...onceFiles(inputs)];
    const paths = files.map((f) => f.path);
    assert.equal(new Set(paths).size, paths.length, 'no file twice');
    // Every file the globs name is there, under the first input that names it (written out by hand:
    // worker-1.log.1 does not end in .log, so `**/*.log` leaves it to input 2; inputs 3 and 4 only
    // name files an earlier input already named).
    const expected: [string, number][] = [
      ['scheduler/latest.log', 0],
      ['scheduler/2024-05-01.log', 0],
      ['worker/worker-1.log', 1],
      ['logs/dag_id=a/run_id=r1/task_id=t1/attempt=1.log', 1],
      ['logs/dag_id=a/run_id=r1/task_id=t2/attempt=1.log', 1],
      ['logs/dag_id=b/run_id=r2/task_id=t1/attempt=1.log', 1],
      ['logs/dag_id=b/run_id=r2/task_id=t1/attempt=2.log', 1],
      ['worker/worker-1.log.1', 2],
    ];
    const byPath = (a: [string, number], b: [string, number]) => a[0].localeCompare(b[0]);
    assert.deepEqual(
      files.map((f): [string, number] => [f.path, f.input]).sort(byPath),
      expected.map(([p, i]): [string, number] => [join(dir, p), i]).sort(byPath),
    );
    // Inputs are read in order, and a walk lists one directory's files together (depth first).
    assert.deepEqual(
      files.map((f) => f.input),
      [...files.map((f) => f.input)].sort((a, b) => a - b),
    );
    const dirs = paths.map((p) => p.slice(0, p.lastIndexOf('/')));
    for (let i = 2; i < dirs.length; i++) {
      if (files[i]!.input !== files[i - 1]!.input || dirs[i] === dirs[i - 1]) continue;
      assert.ok(
        !dirs.slice(0, i - 1).some((d, j) => d === dirs[i] && files[j]!.input === files[i]!.input),
        `${paths[i]} is listed with its directory`,
      );
    }
    assert.ok(!paths.some((p) => p.includes('.hidden')), '** does not enter dot directories');
  });

  it('keeps no memory of the paths when no later input can name them', () => {
    // Disjoint globs (the bench's): couldName is false across them, so nothing is remembered.
    const a = compilePattern(join(dir, 'scheduler/*.log'));
    const b = compilePattern(join(dir, 'logs/dag_id=*/run_id=*/task_id=*/attempt=*.log'));
    for (const p of a.expand()) assert.equal(b.couldName(p), false);
    for (const p of b.expand()) assert.equal(a.couldName(p), false);
  });

  it('a pattern expands to exactly the paths it names, and could name each of them', () => {
    // The expected expansions are written out by hand from the tree above.
    const attempts = [
      'logs/dag_id=a/run_id=r1/task_id=t1/attempt=1.log',
      'logs/dag_id=a/run_id=r1/task_id=t2/attempt=1.log',
      'logs/dag_id=b/run_id=r2/task_id=t1/attempt=1.log',
      'logs/dag_id=b/run_id=r2/task_id=t1/attempt=2.log',
    ];
    const cases: [string, string[]][] = [
      ['scheduler/*.log', ['scheduler/latest.log', 'scheduler/2024-05-01.log']],
      ['worker/worker-?.log*', ['worker/worker-1.log', 'worker/worker-1.log.1']],
      ['**/*.log', ['scheduler/latest.log', 'scheduler/2024-05-01.log', 'worker/worker-1.log', ...attempts]],
      ['logs/**/attempt=*.log', attempts],
      [
        'logs/dag_id={a,b}/run_id=*/task_id=t1/*.log',
        [
          'logs/dag_id=a/run_id=r1/task_id=t1/attempt=1.log',
          'logs/dag_id=b/run_id=r2/task_id=t1/attempt=1.log',
          'logs/dag_id=b/run_id=r2/task_id=t1/attempt=2.log',
        ],
      ],
      ['scheduler/latest.log', ['scheduler/latest.log']],
      ['scheduler/missing-*.log', []],
    ];
    for (const [pattern, want] of cases) {
      const p = compilePattern(join(dir, pattern));
      const paths = p.expand();
      assert.deepEqual([...paths].sort(), want.map((w) => join(dir, w)).sort(), pattern);
      for (const path of paths) assert.ok(p.couldName(path), `${pattern} -> ${path}`);
      assert.deepEqual([...p.paths()], paths);
    }
  });
});
