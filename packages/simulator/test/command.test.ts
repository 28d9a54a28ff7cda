/** `windsock simulate` and workload validation: clear errors, an embedded metadb, truth.json written. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { silentLogger } from '@windsock/core';
import { parseDurationSeconds, parseVersion, runSimulate } from '../src/command.ts';
import { type GroundTruth, Simulator, steadyWorkload } from '../src/index.ts';

function capture(): { stream: Writable; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      buf += String(chunk);
      cb();
    },
  });
  return { stream, text: () => buf };
}

test('simulate with no --database-url serves an embedded PostgreSQL, prints its URL and writes truth.json', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ws-simcli-'));
  try {
    const stdout = capture();
    const code = await runSimulate({
      options: { workload: 'steady', airflowVersion: '3', duration: '20s', speed: 'max', seed: '9', out },
      logger: silentLogger(),
      stdout: stdout.stream,
    } as never);
    assert.equal(code, 0);
    assert.match(
      stdout.text(),
      /embedded PostgreSQL \(PGlite\) serving Airflow 3 metadb at postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres/,
    );
    assert.match(stdout.text(), /simulated 20 s of Airflow 3 \(steady, seed 9\)/);
    const truth = JSON.parse(readFileSync(join(out, 'truth.json'), 'utf8')) as GroundTruth;
    assert.equal(truth.version, '3');
    assert.equal(truth.virtualSeconds, 20);
    assert.ok(existsSync(join(out, 'scheduler', 'scheduler.log')));
    // A second run into the same folder refuses to mix outputs unless --reset.
    await assert.rejects(
      runSimulate({
        options: { duration: '5', speed: 'max', out },
        logger: silentLogger(),
        stdout: capture().stream,
      } as never),
      /already holds simulator output/,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('bad flags and workloads fail with a message naming the field', async () => {
  assert.equal(parseDurationSeconds('10m', '--duration'), 600);
  assert.equal(parseDurationSeconds('2h', '--duration'), 7200);
  assert.throws(() => parseDurationSeconds('ten', '--duration'), /--duration: 'ten' is not a duration/);
  const opts = { logger: silentLogger(), stdout: capture().stream };
  await assert.rejects(runSimulate({ ...opts, options: { airflowVersion: '1.10' } } as never), /--airflow-version/);
  await assert.rejects(runSimulate({ ...opts, options: { workload: 'nope' } } as never), /neither a preset/);
  const w = steadyWorkload();
  assert.throws(
    () =>
      new Simulator({
        version: '2.10',
        seed: 1,
        outDir: '/tmp/x',
        workload: { ...w, workers: [{ hostname: 'a', queues: ['default'], concurrency: 0 }] },
      }),
    /workers\[0\]\.concurrency: expected >= 1/,
  );
  const badUpstream = { ...w, dags: [{ dagId: 'd', runsPerHour: 1, tasks: [{ taskId: 't', upstream: ['missing'] }] }] };
  assert.throws(
    () => new Simulator({ version: '3', seed: 1, outDir: '/tmp/x', workload: badUpstream }),
    /unknown task 'missing'/,
  );
  assert.throws(
    () => new Simulator({ version: '3', seed: 1, outDir: '/tmp/x', workload: 'nope' }),
    /unknown workload 'nope'/,
  );
});

test('a draining worker takes no new task; removing an idle worker kills nothing', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ws-simdrain-'));
  try {
    const sim = new Simulator({
      version: '2.10',
      seed: 3,
      workload: steadyWorkload({ taskInstancesPerHour: 4000 }),
      outDir: out,
    });
    await sim.init();
    await sim.runFor(60);
    const workers = sim.currentWorkers();
    sim.setWorkers(workers.map((w) => (w.hostname === 'worker-1' ? { ...w, draining: true } : w)));
    const before = readFileSync(join(out, 'worker', 'worker-1.log'), 'utf8').match(/ received$/gm)?.length ?? 0;
    await sim.runFor(120);
    const after = readFileSync(join(out, 'worker', 'worker-1.log'), 'utf8').match(/ received$/gm)?.length ?? 0;
    assert.equal(after, before, 'no message delivered to a draining worker');
    sim.setWorkers(sim.currentWorkers().filter((w) => w.hostname !== 'worker-1'));
    assert.equal(sim.truth().tasksKilled, 0);
    await sim.runFor(10);
    assert.ok(sim.truth().totals.taskInstances > 50);
    await sim.close();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('--airflow-version accepts 2, 2.7-2.10 and 3.x and refuses anything else, in simulate and demo alike', async () => {
  for (const ok of ['2', '2.7', '2.10', '2.10.5', '3', '3.0', '3.1.2']) {
    assert.equal(parseVersion(ok), ok.startsWith('3') ? '3' : '2.10', ok);
  }
  for (const bad of ['1.10', '2.5', '2.11', '4', 'latest', '3x', '']) {
    assert.throws(() => parseVersion(bad), /--airflow-version: .* is not supported/, bad);
  }
  // demo used to run 2.10 for any value that did not start with 3: now it refuses before starting anything.
  const bin = new URL('../../../bin/windsock.mjs', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [bin, 'demo', '--airflow-version', '2.5', '--duration', '1s'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^windsock: error: --airflow-version: '2\.5' is not supported/);
});
