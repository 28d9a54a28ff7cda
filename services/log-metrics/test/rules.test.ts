import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dagFromPath, inferComponent } from '@windsock/airflow';
import { ConfigError, silentLogger } from '@windsock/core';
import { CardinalityGuard, OTHER } from '../src/counters.ts';
import { LogPipeline } from '../src/pipeline.ts';
import { compileRules, type RuleConfig } from '../src/rules.ts';
import { tempDir } from './helpers.ts';

describe('user rules', () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it('rejects a bad rule at start-up with a message naming the rule and what to change', () => {
    const cases: [RuleConfig, RegExp][] = [
      [{ name: 'Bad Name', match: 'x' }, /rules\[0\] \("Bad Name"\): name must be a metric name/],
      [{ name: 'LogErrors', match: 'x' }, /clashes with the built-in counter LogErrors/],
      [{ name: 'R', match: '(unclosed' }, /rules\[0\] \("R"\): match is not a valid regular expression/],
      [
        { name: 'R', match: 'a(?<q>\\w+)', dimensions: { Queue: 'queue' } },
        /group "queue", which match does not define/,
      ],
      [{ name: 'R', match: '.*' }, /matches an empty line/],
      [{ name: 'R', match: 'x', dimensions: { Cluster: 'x' } }, /dimension "Cluster" is not allowed/],
      [{ name: 'R', match: 'b(?<n>\\d+)', value: 'bytes' }, /value uses the group "bytes"/],
    ];
    for (const [rule, message] of cases) {
      assert.throws(
        () => compileRules([rule], 10),
        (err: Error) => err instanceof ConfigError && message.test(err.message),
        `${JSON.stringify(rule)} -> ${message}`,
      );
    }
  });

  it('counts matching lines with named-group dimensions and values, per component, with a cardinality guard', () => {
    const file = join(dir, 'scheduler.log');
    const lines = [
      '[2024-05-01T10:00:00.000+0000] {dagbag.py:1} ERROR - Failed to import: /dags/a.py',
      '[2024-05-01T10:00:01.000+0000] {dagbag.py:1} ERROR - Failed to import: /dags/b.py',
      '[2024-05-01T10:00:02.000+0000] {dagbag.py:1} ERROR - Failed to import: /dags/a.py',
      '[2024-05-01T10:00:03.000+0000] {dagbag.py:1} ERROR - Failed to import: /dags/c.py',
      '[2024-05-01T10:00:04.000+0000] {x.py:1} INFO - uploaded 120 bytes',
      '[2024-05-01T10:00:05.000+0000] {x.py:1} INFO - uploaded 30 bytes',
      '[2024-05-01T10:00:06.000+0000] {x.py:1} INFO - uploaded lots bytes',
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const rules = compileRules(
      [
        { name: 'DagImportErrors', match: 'Failed to import: (?<file>\\S+)', dimensions: { File: 'file' } },
        { name: 'UploadedBytes', match: 'uploaded (?<n>\\S+) bytes', value: 'n' },
        { name: 'WorkerOnly', match: 'uploaded', component: 'worker' },
      ],
      2,
    );
    const p = new LogPipeline({
      cluster: 'c',
      inputs: [{ path: file }],
      startPosition: 'beginning',
      rules,
      logger: silentLogger(),
    });
    p.drainFiles();
    const s = p.counts();
    const get = (name: string, file?: string) =>
      s.find((x) => x.name === name && (file === undefined || x.dimensions.File === file))?.value;
    assert.equal(get('DagImportErrors', '/dags/a.py'), 2);
    assert.equal(get('DagImportErrors', '/dags/b.py'), 1);
    assert.equal(get('DagImportErrors', OTHER), 1, 'a third file is over the guard of 2');
    assert.equal(
      s.find((x) => x.name === 'DagDimensionFolded' && x.dimensions.Rule === 'DagImportErrors')?.value,
      1,
      'the fold is counted',
    );
    assert.equal(get('UploadedBytes'), 150, 'numeric group added; the non-numeric line skipped');
    assert.equal(rules[1]!.badValues, 1);
    assert.equal(get('WorkerOnly'), undefined, 'component-scoped rule ignores scheduler lines');
    assert.equal(s.find((x) => x.name === 'DagImportErrors')?.dimensions.Component, 'scheduler');
  });
});

describe('dimensions', () => {
  it('infers the component from Airflow log paths', () => {
    const cases: [string, string][] = [
      ['/opt/airflow/logs/dag_id=etl/run_id=r1/task_id=t/attempt=1.log', 'task'],
      ['/opt/airflow/logs/dag_id=scheduler_dag/run_id=r/task_id=worker/attempt=2.log', 'task'],
      ['/opt/airflow/logs/scheduler/2024-05-01/etl.py.log', 'scheduler'],
      ['/opt/airflow/logs/dag_processor_manager/dag_processor_manager.log', 'dag-processor'],
      ['/var/log/airflow/worker-1.log', 'worker'],
      ['/var/log/celery/celery.log', 'worker'],
      ['/var/log/airflow/webserver.log', 'webserver'],
      ['/var/log/airflow/api-server.log', 'api-server'],
      ['/var/log/airflow/triggerer.log', 'triggerer'],
      ['/var/log/other.log', 'unknown'],
    ];
    for (const [path, want] of cases) assert.equal(inferComponent(path), want, path);
    assert.equal(dagFromPath('/l/dag_id=etl_orders/run_id=x/task_id=t/attempt=1.log'), 'etl_orders');
  });

  it('per-DAG series stay within maxValues per flush window, fold the rest, and count the fold', () => {
    const g = new CardinalityGuard(2);
    assert.deepEqual(
      ['a', 'b', 'a', 'c', 'd', 'b'].map((v) => g.admit(v)),
      ['a', 'b', 'a', OTHER, OTHER, 'b'],
    );
    assert.equal(g.reset(), 2);
    assert.equal(g.admit('c'), 'c', 'a new window admits new values');
  });

  it('publishes per-DAG twins of the task counters when enabled, and the plain series unchanged', () => {
    const { dir, cleanup } = tempDir();
    try {
      const mk = (dag: string) => {
        const d = join(dir, `dag_id=${dag}`, 'run_id=r', 'task_id=t');
        mkdirSync(d, { recursive: true });
        writeFileSync(
          join(d, 'attempt=1.log'),
          '[2024-05-01T10:00:00.000+0000] {taskinstance.py:1} ERROR - Task failed with exception\n' +
            `[2024-05-01T10:00:01.000+0000] {taskinstance.py:1} INFO - Marking task as FAILED. dag_id=${dag}, task_id=t, run_id=r, execution_date=20240501T000000, start_date=, end_date=\n`,
        );
      };
      for (const d of ['d1', 'd2', 'd3']) mk(d);
      const p = new LogPipeline({
        cluster: 'c',
        inputs: [{ path: `${dir}/**/*.log` }],
        startPosition: 'beginning',
        perDag: { enabled: true, maxValues: 2 },
        logger: silentLogger(),
      });
      p.drainFiles();
      const s = p.counts();
      const plain = s.find((x) => x.name === 'LogErrors' && x.dimensions.DAG === undefined);
      assert.equal(plain?.value, 3);
      const perDag = s.filter((x) => x.name === 'LogErrors' && x.dimensions.DAG !== undefined);
      assert.equal(perDag.length, 3, 'two DAGs and __other__');
      assert.equal(perDag.find((x) => x.dimensions.DAG === OTHER)?.value, 1);
      assert.ok((s.find((x) => x.name === 'DagDimensionFolded')?.value ?? 0) >= 1);
    } finally {
      cleanup();
    }
  });
});
