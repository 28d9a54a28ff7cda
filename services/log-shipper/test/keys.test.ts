/**
 * Keys byte-for-byte equal to the ones Airflow's S3 remote logging writes and lists. Each fixture is a
 * task instance, the template its dag_run's log_template row holds, the relative path Airflow renders
 * (FileTaskHandler._render_filename: Jinja with ti / ts / try_number) and the key Airflow computes
 * (`os.path.join(remote_base_log_folder, relative_path)`, then parse_s3_url). The paths and keys are
 * written out by hand from Airflow's source, not computed by the code under test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { s3LogLocation } from '@windsock/airflow';
import { airflowRead } from './helpers/airflow-s3.ts';
import {
  getObject,
  type ShipperFixture,
  shipperFixture,
  startShipper,
  testShipperOptions,
  waitFor,
} from './helpers/harness.ts';

const TPL_2X =
  'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number }}.log';
const TPL_3X =
  'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number|default(ti.try_number) }}.log';
const TPL_PRE_2_3 = '{{ ti.dag_id }}/{{ ti.task_id }}/{{ ts }}/{{ try_number }}.log';
const TPL_CUSTOM = '{{ ti.dag_id }}/{{ ti.task_id }}/{{ ti.run_id }}/{{ ti.map_index }}/{{ try_number }}.log';

interface KeyFixture {
  name: string;
  template: string;
  remoteBase: (bucket: string) => string;
  /** The relative path Airflow renders for this TI (where the worker writes the file). */
  relativePath: string;
  /** The key Airflow uploads to and lists (bucket excluded). */
  expectedKey: string;
}

const FIXTURES: KeyFixture[] = [
  {
    name: '2.x default, unmapped, manual run',
    template: TPL_2X,
    remoteBase: (b) => `s3://${b}/airflow/logs`,
    relativePath: 'dag_id=etl_daily/run_id=manual__2024-03-01T10:15:00+00:00/task_id=extract/attempt=1.log',
    expectedKey: 'airflow/logs/dag_id=etl_daily/run_id=manual__2024-03-01T10:15:00+00:00/task_id=extract/attempt=1.log',
  },
  {
    name: '2.x default, mapped task index 0, retry 3, trailing slash on the base',
    template: TPL_2X,
    remoteBase: (b) => `s3://${b}/airflow/logs/`,
    relativePath:
      'dag_id=etl_daily/run_id=scheduled__2024-03-01T00:00:00+00:00/task_id=load.partition/map_index=0/attempt=3.log',
    expectedKey:
      'airflow/logs/dag_id=etl_daily/run_id=scheduled__2024-03-01T00:00:00+00:00/task_id=load.partition/map_index=0/attempt=3.log',
  },
  {
    name: '3.x default, mapped task index 12, bucket root',
    template: TPL_3X,
    remoteBase: (b) => `s3://${b}`,
    relativePath:
      'dag_id=ml_train/run_id=asset_triggered__2025-05-02T08:00:00.123456+00:00/task_id=fit/map_index=12/attempt=2.log',
    expectedKey:
      'dag_id=ml_train/run_id=asset_triggered__2025-05-02T08:00:00.123456+00:00/task_id=fit/map_index=12/attempt=2.log',
  },
  {
    name: '3.x default, trigger log of a deferred TI (triggerer job 57)',
    template: TPL_3X,
    remoteBase: (b) => `s3://${b}/logs`,
    relativePath: 'dag_id=waits/run_id=manual__2025-01-01T00:00:00+00:00/task_id=sensor/attempt=1.log.trigger.57.log',
    expectedKey:
      'logs/dag_id=waits/run_id=manual__2025-01-01T00:00:00+00:00/task_id=sensor/attempt=1.log.trigger.57.log',
  },
  {
    name: 'a run that keeps the pre-2.3 template (log_template row 1, ts = logical date isoformat)',
    template: TPL_PRE_2_3,
    remoteBase: (b) => `s3://${b}/logs`,
    relativePath: 'old_dag/old_task/2022-01-01T00:00:00+00:00/1.log',
    expectedKey: 'logs/old_dag/old_task/2022-01-01T00:00:00+00:00/1.log',
  },
  {
    name: 'custom template with map_index -1 rendered literally',
    template: TPL_CUSTOM,
    remoteBase: (b) => `s3://${b}/custom/prefix`,
    relativePath: 'report/render/manual__2024-12-24T18:00:00+00:00/-1/2.log',
    expectedKey: 'custom/prefix/report/render/manual__2024-12-24T18:00:00+00:00/-1/2.log',
  },
  {
    // A run id with `#` (possible with a custom allowed_run_id_pattern): parse_s3_url splits with
    // urlsplit(..., allow_fragments=False), so the `#` and all after it stay in the key.
    name: 'a run id with # in it',
    template: TPL_2X,
    remoteBase: (b) => `s3://${b}/logs`,
    relativePath: 'dag_id=etl/run_id=manual__retry#2/task_id=t/attempt=1.log',
    expectedKey: 'logs/dag_id=etl/run_id=manual__retry#2/task_id=t/attempt=1.log',
  },
];

let fx: ShipperFixture;
before(async () => {
  fx = await shipperFixture('keys');
});
after(() => fx?.cleanup());

test('the key mapping equals os.path.join + parse_s3_url for every fixture', () => {
  for (const f of FIXTURES) {
    const { bucket, key } = s3LogLocation(f.remoteBase('b1'), f.relativePath);
    assert.deepEqual({ bucket, key }, { bucket: 'b1', key: f.expectedKey }, f.name);
  }
});

for (const f of FIXTURES) {
  test(`ships to Airflow's key and Airflow's reader finds exactly it: ${f.name}`, async () => {
    const base = join(fx.base, f.name.replace(/\W+/g, '_'));
    const path = join(base, f.relativePath);
    mkdirSync(dirname(path), { recursive: true });
    const content = `[2024-03-01T10:15:01.000+0000] {taskinstance.py:1} INFO - ${f.name}\n[2024-03-01T10:15:02.000+0000] {local_task_job_runner.py:1} INFO - Task exited with return code 0\n`;
    writeFileSync(path, content);
    const shipper = await startShipper(
      testShipperOptions(fx, {
        baseLogFolder: base,
        remoteBaseLogFolder: f.remoteBase(fx.bucket),
        stateDir: join(base, '..', `st-${f.name.length}-${Math.random()}`),
      }),
    );
    try {
      assert.ok(
        await waitFor(async () => (await getObject(fx.s3, fx.bucket, f.expectedKey))?.toString() === content, 5000),
      );
      // Airflow's read: list the attempt key as a prefix, sorted, concatenated.
      const read = await airflowRead(fx.s3, fx.bucket, f.expectedKey);
      assert.deepEqual(read.keys, [f.expectedKey]);
      assert.equal(read.logs.join(''), content);
    } finally {
      await shipper.stop();
    }
  });
}
