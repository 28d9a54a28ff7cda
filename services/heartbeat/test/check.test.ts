/**
 * `windsock heartbeat check` on a real PostgreSQL with Airflow's DDL (2.10 and 3.x): each metadb
 * state gives the status and exit code on-call expects, with the failing probe named (and its own
 * line from the local task log), and UNKNOWN, not a stack trace, when the metadb is down.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type AirflowSchemaVersion, loadAirflowSchema } from '@windsock/airflow';
import pg from 'pg';
import { createDatabase, freePort } from '../../../test/helpers/stack.ts';

const BIN = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
const DAG = 'windsock_heartbeat';
const MIN = 60_000;

function check(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_')),
  );
  const r = spawnSync(process.execPath, [BIN, 'heartbeat', 'check', ...args], {
    encoding: 'utf8',
    env: { ...clean, ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Run {
  runId: string;
  state: string;
  startMinAgo: number;
  endMinAgo?: number;
  tasks?: Array<[taskId: string, state: string]>;
}

/** Writes the dag row, runs, task instances and a scheduler job as Airflow would have them. */
async function setUp(
  url: string,
  version: AirflowSchemaVersion,
  o: { schedule: string | null; runs: Run[]; schedulerSecondsAgo: number | null },
) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await loadAirflowSchema(c, version);
  const now = Date.now();
  const at = (minAgo: number) => new Date(now - minAgo * MIN);
  const scheduleCol = version === '3' ? 'timetable_summary' : 'schedule_interval';
  if (o.schedule !== null)
    await c.query(
      `INSERT INTO dag (dag_id, is_paused, ${scheduleCol}, max_active_tasks, max_consecutive_failed_dag_runs, has_task_concurrency_limits)
       VALUES ($1, false, $2, 16, 0, false)`,
      [DAG, o.schedule],
    );
  for (const r of o.runs) {
    const start = at(r.startMinAgo);
    const end = r.endMinAgo === undefined ? null : at(r.endMinAgo);
    if (version === '3')
      await c.query(
        `INSERT INTO dag_run (dag_id, run_id, logical_date, run_after, run_type, state, queued_at, start_date, end_date)
         VALUES ($1, $2, $3, $3, 'scheduled', $4, $3, $3, $5)`,
        [DAG, r.runId, start, r.state, end],
      );
    else
      await c.query(
        `INSERT INTO dag_run (dag_id, run_id, execution_date, run_type, state, queued_at, start_date, end_date)
         VALUES ($1, $2, $3, 'scheduled', $4, $3, $3, $5)`,
        [DAG, r.runId, start, r.state, end],
      );
    for (const [taskId, state] of r.tasks ?? []) {
      const idCol = version === '3' ? 'id, ' : '';
      const idVal = version === '3' ? 'gen_random_uuid(), ' : '';
      await c.query(
        `INSERT INTO task_instance (${idCol}task_id, dag_id, run_id, map_index, state, try_number, pool, pool_slots, queue, start_date, end_date)
         VALUES (${idVal}$1, $2, $3, -1, $4, 1, 'default_pool', 1, 'default', $5, $6)`,
        [taskId, DAG, r.runId, state, start, end],
      );
    }
  }
  if (o.schedulerSecondsAgo !== null)
    await c.query(
      `INSERT INTO job (job_type, state, latest_heartbeat, hostname) VALUES ('SchedulerJob', 'running', $1, 'scheduler-1')`,
      [new Date(now - o.schedulerSecondsAgo * 1000)],
    );
  await c.end();
}

const SCHEDULES: Record<AirflowSchemaVersion, string> = {
  '2.10': '{"__var": 300.0, "__type": "timedelta"}',
  '3': '0:05:00',
};

for (const version of ['2.10', '3'] as const) {
  describe(`heartbeat check on Airflow ${version}`, () => {
    const dbs: Array<Awaited<ReturnType<typeof createDatabase>>> = [];
    let logs: string;
    before(() => {
      logs = mkdtempSync(join(tmpdir(), 'ws-hb-logs-'));
    });
    after(async () => {
      for (const db of dbs) await db.drop();
      rmSync(logs, { recursive: true, force: true });
    });
    const scenario = async (o: Parameters<typeof setUp>[2]) => {
      const db = await createDatabase('hb');
      dbs.push(db);
      await setUp(db.url, version, o);
      return db.url;
    };

    // Ages are real (the check reads the clock): each scenario keeps minutes of margin from its
    // thresholds, so a slow machine between writing the rows and running the check changes nothing.
    const fresh = { WINDSOCK_HEARTBEAT__SCHEDULER_WARN_SECONDS: '240' };

    test('OK: a success a minute ago on a 5-minute schedule, scheduler fresh', async () => {
      const url = await scenario({
        schedule: SCHEDULES[version],
        runs: [{ runId: 'scheduled__a', state: 'success', startMinAgo: 2, endMinAgo: 1 }],
        schedulerSecondsAgo: 2,
      });
      const r = check(['--database-url', url, '--json'], fresh);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.status, 'OK');
      assert.equal(v.thresholds.intervalSeconds, 300);
      assert.equal(v.thresholds.intervalSource, "the DAG's schedule");
      assert.equal(v.lastSuccess.runId, 'scheduled__a');
      assert.ok(Math.abs(v.lastSuccess.latencySeconds - 60) < 1, `latency ${v.lastSuccess.latencySeconds}`);
      const text = check(['--database-url', url], fresh);
      assert.match(text.stdout, /^HEARTBEAT OK - last success \dm\d\ds ago, latency 60s\n/);
      assert.equal(text.stderr, '');
    });

    test('WARN: the last success is 12 minutes old (past 2 intervals, not yet 3)', async () => {
      const url = await scenario({
        schedule: SCHEDULES[version],
        runs: [{ runId: 'scheduled__old', state: 'success', startMinAgo: 13, endMinAgo: 12 }],
        schedulerSecondsAgo: 1,
      });
      const r = check(['--database-url', url], fresh);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^HEARTBEAT WARN - last success 1[234]m\d\ds ago \(WARN after 10m00s\)/);
    });

    test('CRIT: the newest run failed on the broker probe, named with its own line from the task log', async () => {
      const url = await scenario({
        schedule: SCHEDULES[version],
        runs: [
          { runId: 'scheduled__ok', state: 'success', startMinAgo: 21, endMinAgo: 20 },
          {
            runId: 'scheduled__bad',
            state: 'failed',
            startMinAgo: 2,
            endMinAgo: 1,
            tasks: [
              ['probe_metadb', 'success'],
              ['probe_broker', 'failed'],
              ['success_token', 'upstream_failed'],
            ],
          },
        ],
        schedulerSecondsAgo: 3,
      });
      const dir = join(logs, `dag_id=${DAG}`, 'run_id=scheduled__bad', 'task_id=probe_broker');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'attempt=1.log'),
        '[2026-12-02T10:00:01.000+0000] {windsock_heartbeat.py:56} INFO - windsock probe broker: FAIL in 2.001s: ConnectionError: Error 111 connecting to broker:6379. Connection refused.\n' +
          '[2026-12-02T10:00:01.002+0000] {taskinstance.py:2700} ERROR - Task failed with exception\n',
      );
      const r = check(['--database-url', url, '--json'], { ...fresh, AIRFLOW__LOGGING__BASE_LOG_FOLDER: logs });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.status, 'CRIT');
      assert.match(
        v.summary,
        /^newest run scheduled__bad failed: probe_broker, success_token failed; last success 20m/,
      );
      assert.deepEqual(
        v.failedProbes.map((p: { taskId: string }) => p.taskId),
        ['probe_broker', 'success_token'],
      );
      assert.equal(
        v.failedProbes[0].message,
        'windsock probe broker: FAIL in 2.001s: ConnectionError: Error 111 connecting to broker:6379. Connection refused.',
      );
    });

    test('CRIT: no success for longer than 3 intervals; thresholds overridable', async () => {
      const url = await scenario({
        schedule: SCHEDULES[version],
        runs: [{ runId: 'scheduled__stale', state: 'success', startMinAgo: 31, endMinAgo: 30 }],
        schedulerSecondsAgo: 5,
      });
      assert.equal(check(['--database-url', url]).code, 2);
      const relaxed = check(
        ['--database-url', url, '--warn-after-seconds', '3600', '--crit-after-seconds', '7200'],
        fresh,
      );
      assert.equal(relaxed.code, 0, relaxed.stdout);
    });

    test('CRIT: the scheduler heartbeat is 10 minutes old', async () => {
      const url = await scenario({
        schedule: SCHEDULES[version],
        runs: [{ runId: 'scheduled__a', state: 'success', startMinAgo: 2, endMinAgo: 1 }],
        schedulerSecondsAgo: 600,
      });
      const r = check(['--database-url', url]);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stdout, /^HEARTBEAT CRIT - scheduler heartbeat 1[0-3]m\d\ds old/);
    });

    test('UNKNOWN: the DAG was never parsed into the metadb', async () => {
      const url = await scenario({ schedule: null, runs: [], schedulerSecondsAgo: 1 });
      const r = check(['--database-url', url]);
      assert.equal(r.code, 3);
      assert.match(r.stdout, /^HEARTBEAT UNKNOWN - windsock_heartbeat is not in the metadb/);
    });
  });
}

test('UNKNOWN (exit 3, one screen, no stack trace, no password) when the metadb is down', async () => {
  const port = await freePort();
  const r = check([], {
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://airflow:s3cret-pw@127.0.0.1:${port}/airflow`,
  });
  assert.equal(r.code, 3);
  assert.match(r.stdout, /^HEARTBEAT UNKNOWN - metadb unreachable: .*ECONNREFUSED/);
  assert.doesNotMatch(r.stdout + r.stderr, /s3cret-pw|at .*\.ts:\d+/);
});

test('UNKNOWN when no metadb is configured', () => {
  const r = check([]);
  assert.equal(r.code, 3);
  assert.match(r.stdout, /^HEARTBEAT UNKNOWN - no metadb URL/);
});
