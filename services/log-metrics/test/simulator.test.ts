/**
 * Acceptance: simulated Airflow 2.10 and 3.x clusters (scheduler + Celery workers + task logs) are
 * counted by `windsock log-metrics --once --format json`, and every counter equals the simulator's
 * ground truth.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Simulator, type TruthMetric } from '@windsock/simulator';
import { tempDir } from './helpers.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));

interface SnapshotRow {
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  value: number;
}

const keyOf = (name: string, dims: Record<string, string>) =>
  `${name} ${JSON.stringify(
    Object.fromEntries(
      Object.entries(dims)
        .filter(([k]) => k !== 'Cluster')
        .sort(),
    ),
  )}`;

async function simulateAndCount(version: '2.10' | '3', seed: number) {
  const { dir, cleanup } = tempDir(`lm-sim${version}-`);
  const sim = new Simulator({ version, seed, workload: 'steady', outDir: dir });
  await sim.init();
  await sim.runFor(1800);
  const truth = sim.truth();
  await sim.close();
  const { stdout } = await run(
    process.execPath,
    [
      CLI,
      'log-metrics',
      '--once',
      '--format',
      'json',
      `${dir}/scheduler/*.log`,
      `${dir}/worker/*.log`,
      `${dir}/logs/**/*.log`,
    ],
    { env: { ...process.env, WINDSOCK_CLUSTER: 'sim' }, maxBuffer: 64 << 20 },
  );
  const snapshot = JSON.parse(stdout) as { metrics: SnapshotRow[] };
  return { truth: truth.metrics, snapshot: snapshot.metrics, cleanup, lines: truth.lines };
}

function compare(truth: TruthMetric[], got: SnapshotRow[], skip: (key: string) => boolean) {
  const want = new Map(truth.map((m) => [keyOf(m.name, m.dimensions), m.value]));
  const have = new Map<string, number>();
  for (const m of got) {
    assert.equal(m.unit, 'Count', m.name);
    assert.equal(m.dimensions.Cluster, 'sim');
    have.set(keyOf(m.name, m.dimensions), (have.get(keyOf(m.name, m.dimensions)) ?? 0) + m.value);
  }
  const diffs: string[] = [];
  for (const k of new Set([...want.keys(), ...have.keys()])) {
    if (skip(k)) continue;
    if ((want.get(k) ?? 0) !== (have.get(k) ?? 0))
      diffs.push(`${k}: truth ${want.get(k) ?? 0}, counted ${have.get(k) ?? 0}`);
  }
  return diffs;
}

for (const version of ['2.10', '3'] as const) {
  describe(`simulated Airflow ${version} cluster`, () => {
    const result = simulateAndCount(version, version === '2.10' ? 11 : 12);
    after(async () => (await result).cleanup());

    it('every counter equals the ground truth (scheduler, Celery worker and task logs)', async () => {
      const { truth, snapshot, lines } = await result;
      assert.ok(lines.scheduler > 500 && lines.worker > 100 && lines.task > 1000, JSON.stringify(lines));
      assert.ok(truth.length >= 10, 'the truth names the counters');
      const unparsed = truth.filter((m) => m.name === 'UnparsedLines').reduce((a, m) => a + m.value, 0);
      assert.ok(unparsed > 0, 'the run wrote lines that must count as unparsed');
      assert.deepEqual(
        compare(truth, snapshot, () => false),
        [],
      );
    });
  });
}

describe('CLI', () => {
  it('names what is missing when no file is given', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(
        run(process.execPath, [CLI, 'log-metrics', '--once'], { cwd: dir, env: { ...process.env } }),
        (err: { stderr: string; code: number }) => err.code !== 0 && /nothing to read/.test(err.stderr),
      );
      // --once reads what is there now: a glob naming nothing is an error (the daemon waits instead).
      await assert.rejects(
        run(process.execPath, [CLI, 'log-metrics', '--once', join(dir, 'missing-*.log')]),
        (err: { stdout: string; stderr: string; code: number }) =>
          err.code === 1 &&
          /missing-\*\.log: no file matches this pattern; nothing printed/.test(err.stderr) &&
          err.stdout === '',
      );
    } finally {
      cleanup();
    }
  });
});
