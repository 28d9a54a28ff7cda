/** The embedded PostgreSQL (PGlite over the wire protocol): the same `pg` path, both schema versions. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { Simulator, startEmbeddedPostgres, steadyWorkload } from '../src/index.ts';

for (const version of ['2.10', '3'] as const) {
  test(`Airflow ${version} schema on embedded PGlite: a short run lands in the metadb`, async () => {
    const embedded = await startEmbeddedPostgres();
    const outDir = mkdtempSync(join(tmpdir(), 'ws-simpglite-'));
    try {
      const sim = new Simulator({
        version,
        seed: 5,
        workload: steadyWorkload({ taskInstancesPerHour: 3000 }),
        outDir,
        databaseUrl: embedded.url,
      });
      await sim.init();
      await sim.runFor(60);
      const truth = sim.truth();
      await sim.close();
      const client = new pg.Client({ connectionString: embedded.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number; running: number }>(
          "SELECT count(*)::int AS n, (count(*) FILTER (WHERE state = 'running'))::int AS running FROM task_instance",
        );
        assert.ok(truth.totals.taskInstances > 10);
        assert.equal(rows[0]!.n, truth.totals.taskInstances);
        const running = Object.values(truth.depth.taskInstances).reduce((s, q) => s + (q.running ?? 0), 0);
        assert.equal(rows[0]!.running, running);
        const col = await client.query(
          "SELECT 1 FROM information_schema.columns WHERE table_name = 'task_instance' AND column_name = 'last_heartbeat_at'",
        );
        assert.equal(col.rows.length, version === '3' ? 1 : 0);
      } finally {
        await client.end();
      }
    } finally {
      await embedded.stop();
      rmSync(outDir, { recursive: true, force: true });
    }
  });
}
