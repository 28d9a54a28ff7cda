/** Same seed, same bytes: logs and ground truth are a pure function of (version, seed, workload, worker changes). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDatabase, privateRedis } from '../../../test/helpers/stack.ts';
import { burstyWorkload, Simulator } from '../src/index.ts';
import { listFiles } from './helpers/count-logs.ts';

async function runOnce(version: '2.10' | '3', seed: number): Promise<{ tree: string; truth: string; files: number }> {
  const db = await createDatabase('simdet');
  const redis = await privateRedis();
  const outDir = mkdtempSync(join(tmpdir(), 'ws-simdet-'));
  try {
    const workload = { ...burstyWorkload({ taskInstancesPerHour: 6000 }), zombieThresholdSeconds: 30 };
    const sim = new Simulator({ version, seed, workload, outDir, databaseUrl: db.url, redisUrl: redis.url });
    await sim.init();
    await sim.runFor(150);
    sim.setWorkers(sim.currentWorkers().slice(1));
    await sim.runFor(90);
    const truth = JSON.stringify(sim.truth());
    await sim.close();
    const hash = createHash('sha256');
    const files = listFiles(outDir);
    for (const rel of files)
      hash
        .update(rel)
        .update('\0')
        .update(readFileSync(join(outDir, rel)))
        .update('\0');
    return { tree: hash.digest('hex'), truth, files: files.length };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    await redis.stop();
    await db.drop();
  }
}

for (const version of ['2.10', '3'] as const) {
  test(`Airflow ${version}: the same seed gives byte-identical logs and ground truth; another seed does not`, async () => {
    const a = await runOnce(version, 11);
    const b = await runOnce(version, 11);
    const c = await runOnce(version, 12);
    assert.ok(a.files > 100, `only ${a.files} files`);
    assert.equal(a.tree, b.tree);
    assert.equal(a.truth, b.truth);
    assert.notEqual(a.tree, c.tree);
    assert.notEqual(a.truth, c.truth);
  });
}
