/** Bad input stops `windsock scaler` at start-up with one clear line (before any connection). */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '@windsock/core';
import { commands } from '../src/index.ts';

async function run(env: Record<string, string>, args: string[] = []): Promise<{ code: number; err: string }> {
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await runCli({
    version: '0',
    commands,
    argv: ['node', 'windsock', 'scaler', ...args],
    env: {
      WINDSOCK_AIRFLOW__DATABASE_URL: 'postgresql://x@127.0.0.1:1/x',
      WINDSOCK_HTTP__TOKEN: 'a-long-enough-token',
      ...env,
    },
    stdout: sink(() => undefined),
    stderr: sink((s) => {
      err += s;
    }),
  });
  return { code, err };
}

const pool = (p: Record<string, unknown>) => ({
  name: 'w',
  queues: ['default'],
  min: 0,
  max: 3,
  backend: { type: 'docker', template: 't' },
  ...p,
});

test('unknown backend, min > max, a queue in two pools, a missing token: one line each, exit code 2', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { WINDSOCK_WORKER_POOLS: JSON.stringify([pool({ backend: { type: 'k8s' } })]) },
      /unknown backend "k8s"; known backends: docker, ecs/,
    ],
    [{ WINDSOCK_WORKER_POOLS: JSON.stringify([pool({ min: 5, max: 2 })]) }, /min must not exceed max/],
    [
      { WINDSOCK_WORKER_POOLS: JSON.stringify([pool({}), pool({ name: 'v', queues: ['etl', 'default'] })]) },
      /queue "default" is in both "w" and "v"/,
    ],
    [{ WINDSOCK_WORKER_POOLS: JSON.stringify([pool({})]), WINDSOCK_HTTP__TOKEN: '' }, /http.token is not set/],
  ];
  for (const [env, want] of cases) {
    const env2 = { ...env };
    const { code, err } = await run(
      env2.WINDSOCK_HTTP__TOKEN === '' ? { ...env2, WINDSOCK_HTTP__TOKEN: undefined as unknown as string } : env2,
    );
    assert.equal(code, 2, err);
    assert.match(err, want);
    assert.equal(err.trim().split('\n').length, 1, err);
  }
});
