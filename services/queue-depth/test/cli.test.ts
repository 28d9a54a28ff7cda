/**
 * `windsock queue-depth --once --format json`: one snapshot in the foundation's JSON contract, exit
 * 0, from flags or from Airflow's own environment; a dead metadb is MetadbUp = 0 (exit 1) and no secret leaks.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ACTIVE_TASK_STATES, loadAirflowSchema } from '@windsock/airflow';
import pg from 'pg';
import { createDatabase, freePort, testStack } from '../../../test/helpers/stack.ts';

const BIN = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
let db: Awaited<ReturnType<typeof createDatabase>>;
let redisUrl: string;

interface SnapshotRow {
  name: string;
  unit: string;
  kind: string;
  dimensions: Record<string, string>;
  value: number;
}

function windsock(args: string[], env: Record<string, string> = {}) {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_')),
  );
  return spawnSync(process.execPath, [BIN, 'queue-depth', ...args], {
    encoding: 'utf8',
    env: { ...cleanEnv, ...env },
    timeout: 30_000,
  });
}

before(async () => {
  const stack = await testStack();
  redisUrl = `${stack.redisUrl.replace(/\/\d+$/, '')}/9`;
  db = await createDatabase('qdcli');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  await loadAirflowSchema(c, '2.10');
  await c.query(`
    INSERT INTO dag_run (dag_id, run_id, execution_date, run_type, clear_number, state)
      VALUES ('d', 'r', now(), 'manual', 0, 'running');
    INSERT INTO task_instance (task_id, dag_id, run_id, map_index, state, pool, pool_slots, queue, queued_dttm)
      SELECT 't' || i, 'd', 'r', -1, 'queued', 'default_pool', 1, 'etl', now() - interval '90 seconds'
      FROM generate_series(1, 3) AS i;`);
  await c.end();
});

after(async () => {
  await db?.drop();
});

test('--once --format json prints one sorted snapshot with explicit zeros and exits 0', () => {
  const r = windsock([
    '--once',
    '--format',
    'json',
    '--database-url',
    db.url,
    '--broker-url',
    redisUrl,
    '--queues',
    'default,idle',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { metrics: SnapshotRow[] };
  assert.deepEqual(Object.keys(doc), ['metrics']);
  const rows = doc.metrics;
  const names = rows.map((m) => m.name);
  assert.deepEqual(names, [...names].sort(), 'sorted by name for stable diffs');
  const get = (name: string, dims: Record<string, string>) =>
    rows.find((m) => m.name === name && Object.entries(dims).every(([k, v]) => m.dimensions[k] === v));
  for (const queue of ['default', 'idle', 'etl']) {
    for (const state of ACTIVE_TASK_STATES) {
      const row = get('TaskInstances', { Queue: queue, State: state });
      assert.ok(row, `${queue}/${state}`);
      assert.equal(row.value, queue === 'etl' && state === 'queued' ? 3 : 0, `${queue}/${state}`);
      assert.equal(row.dimensions.Cluster, 'airflow');
    }
  }
  const age = get('OldestQueuedTaskAgeSeconds', { Queue: 'etl' })!;
  assert.ok(age.value >= 90 && age.value < 150, `age ${age.value}`);
  assert.equal(age.unit, 'Seconds');
  assert.equal(get('PoolOpenSlots', { Pool: 'default_pool' })?.value, 128 - 3);
  assert.equal(get('TaskInstancesByPool', { Pool: 'default_pool', State: 'queued' })?.value, 3);
  assert.equal(get('MetadbUp', {})?.value, 1);
  assert.equal(get('BrokerUp', {})?.value, 1);
  assert.equal(get('BrokerQueueLength', { Queue: 'idle' })?.value, 0);
});

test("without flags it reads Airflow's environment (SQLAlchemy URL form included)", () => {
  const sqlalchemy = db.url.replace('postgresql://', 'postgresql+psycopg2://');
  const r = windsock(['--once', '--format', 'json'], {
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: sqlalchemy,
    AIRFLOW__CELERY__BROKER_URL: redisUrl,
  });
  assert.equal(r.status, 0, r.stderr);
  const rows = (JSON.parse(r.stdout) as { metrics: SnapshotRow[] }).metrics;
  assert.equal(rows.find((m) => m.name === 'MetadbUp')?.value, 1);
  assert.equal(
    rows.find((m) => m.name === 'TaskInstances' && m.dimensions.Queue === 'etl' && m.dimensions.State === 'queued')
      ?.value,
    3,
  );
});

test('an unreachable metadb gives MetadbUp = 0, no depth, one clear line, and no password anywhere', async () => {
  const port = await freePort();
  const password = 'pw-must-not-leak-7c1';
  const r = windsock([
    '--once',
    '--format',
    'json',
    '--database-url',
    `postgresql://airflow:${password}@127.0.0.1:${port}/airflow`,
  ]);
  assert.equal(r.status, 1, 'a source that did not answer is exit 1, the snapshot is printed all the same');
  const rows = (JSON.parse(r.stdout) as { metrics: SnapshotRow[] }).metrics;
  assert.deepEqual(
    rows.map((m) => [m.name, m.value]),
    [['MetadbUp', 0]],
  );
  const errors = r.stderr.split('\n').filter((l) => l.includes('metadb unreachable'));
  assert.equal(errors.length, 1, r.stderr);
  assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
});

test('no metadb URL at all is a one-line configuration error', () => {
  const r = windsock(['--once']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^windsock: error: no metadb URL: pass --database-url/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('a broker that does not answer: the snapshot with BrokerUp = 0 and the metadb numbers, exit 1', async () => {
  const port = await freePort();
  const r = windsock([
    '--once',
    '--format',
    'json',
    '--database-url',
    db.url,
    '--broker-url',
    `redis://127.0.0.1:${port}/0`,
  ]);
  assert.equal(r.status, 1, r.stderr);
  const rows = (JSON.parse(r.stdout) as { metrics: SnapshotRow[] }).metrics;
  assert.equal(rows.find((m) => m.name === 'BrokerUp')?.value, 0);
  assert.equal(rows.find((m) => m.name === 'MetadbUp')?.value, 1);
  assert.match(r.stderr, /queue-depth --once: the broker did not answer \(BrokerUp = 0\)/);
});

test('a metadb that answers with another schema is a schema mismatch, not "unreachable"', async () => {
  const empty = await createDatabase('qdcli_empty');
  try {
    const r = windsock(['--once', '--format', 'json', '--database-url', empty.url]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /metadb schema mismatch: .*no Airflow task_instance table/);
    assert.doesNotMatch(r.stderr, /unreachable/);
  } finally {
    await empty.drop();
  }
});
