// The heartbeat's Python side (dags/): the probes' unittest suite against the real PostgreSQL, Redis
// and moto S3 of the test stack, and the static checks of the DAG files. Debian's python3 with
// python3-psycopg2, python3-redis and python3-boto3 (installed by the test stack) runs them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { awsEnv, freePort, privateRedis, startPostgres, stopPostgres, testStack } from '../helpers/stack.ts';

const root = new URL('../../', import.meta.url).pathname;
const cleanups: Array<() => Promise<void> | void> = [];
let env: Record<string, string> = {};

before(async () => {
  const stack = await testStack();
  // A private PostgreSQL that checks passwords (the stack's uses trust auth, so a wrong password
  // would pass there): scram-sha-256 on TCP, the password set through the local socket.
  const dir = mkdtempSync(join(tmpdir(), 'ws-hb-pg-'));
  const port = await freePort();
  await startPostgres(dir, port);
  cleanups.push(() => {
    stopPostgres(dir, 'immediate');
    rmSync(dir, { recursive: true, force: true });
  });
  const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query("ALTER ROLE postgres PASSWORD 'right'");
  writeFileSync(join(dir, 'data', 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  await admin.query('SELECT pg_reload_conf()');
  await admin.end();

  const redis = await privateRedis();
  cleanups.push(() => redis.stop());
  const client = new Redis(redis.url);
  await client.config('SET', 'requirepass', 'right');
  client.disconnect();

  env = {
    ...(await awsEnv()),
    WINDSOCK_TEST_PG_URL: stack.pgUrl,
    WINDSOCK_TEST_PG_SCRAM_URL: `postgresql://postgres:right@127.0.0.1:${port}/postgres`,
    WINDSOCK_TEST_REDIS_URL: stack.redisUrl,
    WINDSOCK_TEST_REDIS_SECURED_URL: `redis://:right@127.0.0.1:${redis.port}/0`,
    WINDSOCK_TEST_MOTO_URL: stack.motoUrl,
  };
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function unittest(module: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/python3', ['-m', 'unittest', '-v', module], {
      cwd: join(root, 'dags'),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

function assertAllPassed(result: { code: number | null; out: string }, atLeast: number) {
  const ran = Number(/^Ran (\d+) tests?/m.exec(result.out)?.[1] ?? 0);
  assert.equal(result.code, 0, result.out);
  assert.ok(ran >= atLeast, `expected at least ${atLeast} Python tests, ran ${ran}\n${result.out}`);
  assert.doesNotMatch(result.out, /\.\.\. skipped|skipped=\d|expected failures=/, 'a Python test was skipped');
}

test('every probe passes against the real services and fails on wrong password, closed port, missing bucket, read-only folder, unresolvable name', async () => {
  assertAllPassed(await unittest('tests.test_probes'), 20);
});

test('the DAG files, checked statically: ids, parallel probes, catchup/max_active_runs/dagrun_timeout, one task per queue, portable imports, no parse-time I/O', async () => {
  assertAllPassed(await unittest('tests.test_dag_static'), 5);
});
