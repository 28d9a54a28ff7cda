/**
 * `docker://<container>` inputs on the test stack's real Docker engine: an Airflow-format scheduler
 * writing records to stderr and prints to stdout is counted exactly, and a checkpoint taken while a
 * record is open resumes without losing or repeating a line.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { silentLogger } from '@windsock/core';
import type { DockerClient } from '@windsock/docker';
import { testDocker } from '../../../test/helpers/docker.ts';
import type { CounterSeries } from '../src/counters.ts';
import { CountingEngine } from '../src/engine.ts';
import { ContainerInput, isContainerInput } from '../src/inputs/container-input.ts';

let docker: DockerClient;
let socketPath: string;
let run: Awaited<ReturnType<typeof testDocker>>['run'];
let cleanup: () => Promise<void>;

before(async () => {
  ({ docker, socketPath, run, cleanup } = await testDocker());
});
after(() => cleanup());

/** A shell script printing `records` scheduler records (every 4th an ERROR with a traceback) to stderr, prints to stdout. */
function schedulerScript(records: number, pauseEvery = 0): string {
  const pause = pauseEvery ? `if [ $((i % ${pauseEvery})) -eq 0 ]; then sleep 1; fi;` : '';
  return [
    'i=1',
    `while [ $i -le ${records} ]; do`,
    '  ts="[2025-01-01T00:00:00.000+0000]"',
    '  if [ $((i % 4)) -eq 0 ]; then',
    '    echo "$ts {scheduler_job_runner.py:1} ERROR - record $i failed" >&2',
    '    echo "Traceback (most recent call last):" >&2',
    '    echo "  File \\"/opt/airflow/x.py\\", line $i, in run" >&2',
    '    echo "ValueError: Error: boom $i" >&2',
    '  else',
    '    echo "$ts {scheduler_job_runner.py:1} WARNING - record $i slow" >&2',
    '  fi',
    '  echo "plain print $i"',
    `  ${pause}`,
    '  i=$((i+1))',
    'done',
  ].join('\n');
}

function truth(records: number) {
  const errors = Math.floor(records / 4);
  return { LogErrors: errors, Tracebacks: errors, LogWarnings: records - errors, UnparsedLines: records };
}

function totals(series: CounterSeries[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of series) out[s.name] = (out[s.name] ?? 0) + s.value;
  return out;
}

async function container(script: string) {
  const name = `ws-lm-${randomBytes(3).toString('hex')}`;
  return { c: await run(name, script), name };
}

function input(
  engine: CountingEngine,
  name: string,
  from: ConstructorParameters<typeof ContainerInput>[0]['from'],
  follow: boolean,
  idleFinishMs = 200,
) {
  return new ContainerInput({
    input: `docker://${name}`,
    docker,
    from,
    follow,
    idleFinishMs,
    maxLineBytes: 1 << 20,
    logger: silentLogger(),
    handlerFor: (stream) =>
      engine.source({ component: 'scheduler', queue: undefined, dag: undefined, stream: `docker://${name}#${stream}` }),
  });
}

describe('docker:// inputs on a real Docker engine', () => {
  test('names a container', () => {
    assert.ok(isContainerInput('docker://airflow-scheduler'));
    assert.ok(!isContainerInput('/opt/airflow/logs/docker://x'));
  });

  test('a scheduler container is counted like its log file: records on stderr, prints on stdout', async () => {
    const { c, name } = await container(schedulerScript(200));
    await c.wait();
    const engine = new CountingEngine({ cluster: 't', rules: [] });
    await input(engine, name, 'beginning', false).drain();
    const got = totals(engine.drain());
    const want = truth(200);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k] ?? 0, v, k);
  });

  test('a checkpoint taken while following, with a record open, resumes with nothing lost or repeated', async () => {
    const records = 120;
    const { c, name } = await container(schedulerScript(records, 20));
    // First life: follow until a few records are in, checkpoint with records still open, stop.
    const first = new CountingEngine({ cluster: 't', rules: [] });
    // No idle finish in this life: at the stop, the newest record of each stream is still open.
    const a = input(first, name, 'beginning', true, 600_000);
    a.start();
    for (let i = 0; i < 800 && a.stats.lines <= 60; i++) await new Promise((r) => setTimeout(r, 25));
    await a.stop();
    const cp = a.checkpoint();
    assert.ok(cp, 'a position after the first lines');
    assert.ok(a.stats.lines > 60);
    const firstCounts = totals(first.drain());
    await c.wait();
    // Second life: from the checkpoint to the end; the counts of both lives add up to the truth.
    const second = new CountingEngine({ cluster: 't', rules: [] });
    await input(second, name, cp.position, false).drain();
    const secondCounts = totals(second.drain());
    const want = truth(records);
    for (const [k, v] of Object.entries(want)) {
      assert.equal((firstCounts[k] ?? 0) + (secondCounts[k] ?? 0), v, `${k}: ${firstCounts[k]} + ${secondCounts[k]}`);
    }
    assert.ok((firstCounts.LogWarnings ?? 0) > 0 && (secondCounts.LogWarnings ?? 0) > 0, 'both lives counted some');
  });

  test('windsock log-metrics --once --format json docker://<container> prints the counts', async () => {
    const { c, name } = await container(schedulerScript(40));
    await c.wait();
    const cli = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cli, 'log-metrics', '--once', '--format', 'json', `docker://${name}`],
      { env: { ...process.env, WINDSOCK_LOG_METRICS__DOCKER_HOST: `unix://${socketPath}` } },
    );
    const snap = JSON.parse(stdout) as {
      metrics: { name: string; dimensions: Record<string, string>; value: number }[];
    };
    const want = truth(40);
    for (const [k, v] of Object.entries(want)) {
      const got = snap.metrics.filter((m) => m.name === k).reduce((a, m) => a + m.value, 0);
      assert.equal(got, v, k);
    }
    // The Component comes from the container's name when not configured: here nothing tells, so 'unknown'.
    assert.ok(snap.metrics.some((m) => m.name === 'LogErrors' && m.dimensions.Component === 'unknown'));
  });
});
