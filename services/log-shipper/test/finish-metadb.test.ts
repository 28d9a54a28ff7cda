/**
 * finishOnMetadbState against a real PostgreSQL holding Airflow's schema (2.x and 3.x): a log with no
 * end marker, whose last line is not even complete, gets its final (whole-file) upload once its
 * attempt ends in the metadb; an attempt still running stays live (complete lines only) through
 * later checks. How soon (the README's 2 s) is printed here, not asserted: a loaded machine delays
 * the checks, not their outcome.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { type AirflowSchemaVersion, loadAirflowSchema } from '@windsock/airflow';
import { silentLogger } from '@windsock/core';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createDatabase } from '../../../test/helpers/stack.ts';
import type { MetadbFinishSignal } from '../src/metadb-finish.ts';
import { buildLogShipper, logShipperService } from '../src/service.ts';
import { testConfig } from './helpers/config.ts';
import { getObject, shipperFixture, waitFor } from './helpers/harness.ts';

const RUN = 'manual__2025-01-01T00:00:00+00:00';

interface Attempt {
  taskId: string;
  mapIndex: number;
  tryNumber: number;
  /** The state the test moves it to; undefined: it keeps running. */
  endsAs?: string;
}

const ATTEMPTS: Attempt[] = [
  { taskId: 'extract', mapIndex: -1, tryNumber: 1, endsAs: 'success' },
  { taskId: 'load', mapIndex: 3, tryNumber: 2, endsAs: 'up_for_retry' },
  { taskId: 'sensor', mapIndex: -1, tryNumber: 1 },
];

function relPath(a: Attempt): string {
  // Written out by hand from the default log_filename_template (2.3+ and 3.x render the same path).
  const map = a.mapIndex >= 0 ? `map_index=${a.mapIndex}/` : '';
  return `dag_id=fin/run_id=${RUN}/task_id=${a.taskId}/${map}attempt=${a.tryNumber}.log`;
}

async function seed(url: string, version: AirflowSchemaVersion): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await loadAirflowSchema(client, version);
  const dates = version === '3' ? 'logical_date, run_after' : 'execution_date';
  const dateVals = version === '3' ? '$1, $1' : '$1';
  // log_template row 2 is the version's default template (row 1 the pre-2.3 one).
  await client.query(
    `INSERT INTO dag_run (dag_id, run_id, ${dates}, run_type, state, log_template_id)
     VALUES ('fin', '${RUN}', ${dateVals}, 'manual', 'running', 2)`,
    [new Date('2025-01-01T00:00:00Z')],
  );
  for (const a of ATTEMPTS) {
    await client.query(
      `INSERT INTO task_instance (${version === '3' ? 'id, ' : ''}dag_id, run_id, task_id, map_index, state,
         try_number, max_tries, pool, pool_slots, queue, priority_weight, hostname)
       VALUES (${version === '3' ? 'gen_random_uuid(), ' : ''}'fin', $1, $2, $3, 'running', $4, 3, 'default_pool', 1,
         'default', 1, 'worker-1')`,
      [RUN, a.taskId, a.mapIndex, a.tryNumber],
    );
  }
  return client;
}

for (const version of ['2.10', '3'] as const) {
  test(`Airflow ${version}: a log is finalised once its attempt ends in the metadb, a running one stays live`, async () => {
    const db = await createDatabase(`lsfin${version.replace('.', '')}`);
    const sql = await seed(db.url, version);
    const fx = await shipperFixture(`fin${version.replace('.', '')}`);
    const text = new Map<string, string>();
    for (const a of ATTEMPTS) {
      const rel = relPath(a);
      // Complete lines, then a line still being written: a live upload stops before it, a final one includes it.
      const body = `${'[2025-01-01T00:00:00.000+0000] {op.py:1} INFO - working\n'.repeat(4)}[2025-01-01T00:00:05.000+0000] partial`;
      mkdirSync(dirname(join(fx.base, rel)), { recursive: true });
      writeFileSync(join(fx.base, rel), body);
      text.set(rel, body);
    }
    const config = testConfig(fx, {
      'airflow.databaseUrl': db.url,
      'logShipper.finishOnMetadbState': true,
      'logShipper.finishQuietSeconds': 3600,
    });
    const parts = buildLogShipper({ config, logger: silentLogger(), registry: new Registry() });
    const service = logShipperService(parts, 60_000, silentLogger());
    const object = async (rel: string) => (await getObject(fx.s3, fx.bucket, `logs/${rel}`))?.toString();
    const completeLines = (rel: string) => text.get(rel)!.slice(0, text.get(rel)!.lastIndexOf('\n') + 1);
    try {
      await service.start();
      for (const a of ATTEMPTS) {
        const rel = relPath(a);
        assert.ok(
          await waitFor(async () => (await object(rel)) === completeLines(rel), 60_000),
          `${rel}: the complete lines went up live`,
        );
      }
      const signal = parts.finishSignal as MetadbFinishSignal;
      assert.deepEqual(await signal.identify(relPath(ATTEMPTS[1]!)), {
        dagId: 'fin',
        runId: RUN,
        taskId: 'load',
        mapIndex: 3,
        tryNumber: 2,
      });
      // The pre-2.3 layout has no run_id: the metadb cannot be asked, the quiet period decides.
      assert.equal(await signal.identify('fin/extract/2025-01-01T00:00:00+00:00/1.log'), undefined);

      const endedAt = Date.now();
      for (const a of ATTEMPTS) {
        if (!a.endsAs) continue;
        await sql.query('UPDATE task_instance SET state = $1, end_date = now() WHERE task_id = $2', [
          a.endsAs,
          a.taskId,
        ]);
      }
      const finalisedAfterMs = new Map<string, number>();
      await waitFor(async () => {
        for (const a of ATTEMPTS) {
          const rel = relPath(a);
          if (a.endsAs && !finalisedAfterMs.has(rel) && (await object(rel)) === text.get(rel))
            finalisedAfterMs.set(rel, Date.now() - endedAt);
        }
        return finalisedAfterMs.size === 2;
      }, 60_000);
      for (const a of ATTEMPTS.filter((x) => x.endsAs)) {
        const after = finalisedAfterMs.get(relPath(a));
        assert.ok(after !== undefined, `${a.taskId} (${a.endsAs}) finalised`);
      }
      // The attempt still running is not finalised: its partial last line stays local, through two
      // more checks of the metadb (seen as new query starts of the shipper's connection).
      const lastCheck = async () =>
        (
          await sql.query<{ at: string | null }>(
            "SELECT max(query_start)::text AS at FROM pg_stat_activity WHERE application_name = 'windsock-log-shipper' AND datname = current_database()",
          )
        ).rows[0]?.at ?? null;
      const checks = new Set<string>();
      await waitFor(async () => {
        const at = await lastCheck();
        if (at) checks.add(at);
        return checks.size >= 3;
      }, 60_000);
      assert.ok(checks.size >= 3, 'the shipper asked the metadb again');
      const running = relPath(ATTEMPTS[2]!);
      assert.equal(await object(running), completeLines(running));
      console.log(`# metadb ${version}: finalised after ${[...finalisedAfterMs.values()].join(', ')} ms`);
    } finally {
      await service.stop();
      await sql.end();
      await db.drop();
      fx.cleanup();
    }
  });
}
