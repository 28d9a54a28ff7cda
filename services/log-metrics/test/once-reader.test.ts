import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compilePattern } from '../src/inputs/glob.ts';
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
    // Every file the globs name is there, under the first input that names it.
    const firstNaming = new Map<string, number>();
    inputs.forEach((inp, i) => {
      for (const p of compilePattern(inp.path).expand()) if (!firstNaming.has(p)) firstNaming.set(p, i);
    });
    assert.deepEqual(new Map(files.map((f) => [f.path, f.input])), firstNaming);
    // Within an input, the order is the walk's.
    for (let i = 0; i < inputs.length; i++) {
      const own = compilePattern(inputs[i]!.path)
        .expand()
        .filter((p) => firstNaming.get(p) === i);
      assert.deepEqual(
        files.filter((f) => f.input === i).map((f) => f.path),
        own,
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

  it('a pattern could name every path it expands to', () => {
    for (const pattern of [
      'scheduler/*.log',
      'worker/worker-?.log*',
      '**/*.log',
      'logs/**/attempt=*.log',
      'logs/dag_id={a,b}/run_id=*/task_id=t1/*.log',
      'scheduler/latest.log',
    ]) {
      const p = compilePattern(join(dir, pattern));
      const paths = p.expand();
      assert.ok(paths.length > 0, pattern);
      for (const path of paths) assert.ok(p.couldName(path), `${pattern} -> ${path}`);
      assert.deepEqual([...p.paths()], paths);
    }
  });
});
