/**
 * How a test reaches the real parts: PostgreSQL, Redis, moto. `npm test` starts the stack once and
 * passes it in WINDSOCK_TEST_STACK; a single test file run by hand starts (or reuses) it itself.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, type StackInfo, startRedis, up } from '../stack/index.ts';

export type { StackInfo } from '../stack/index.ts';
export { freePort, startMoto, startPostgres, startRedis, stopPostgres } from '../stack/index.ts';

let cached: StackInfo | undefined;

/** The running test stack (started on first use when not passed in by `npm test`). */
export async function testStack(): Promise<StackInfo> {
  if (cached) return cached;
  const env = process.env.WINDSOCK_TEST_STACK;
  if (env) {
    cached = JSON.parse(env) as StackInfo;
  } else {
    cached = (await up()).info;
  }
  return cached;
}

/** A fresh, empty PostgreSQL database on the stack; `drop()` removes it. */
export async function createDatabase(prefix = 'ws'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const stack = await testStack();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: stack.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = stack.pgUrl.replace(/\/postgres$/, `/${name}`);
  return {
    url,
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: stack.pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A private redis-server of the test's own (so FLUSHALL or a stop affects nobody else). */
export async function privateRedis(): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ws-redis-'));
  const port = await freePort();
  const pid = await startRedis(dir, port);
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already stopped
      }
      // Redis reopens its log file for every line it writes while shutting down: wait until the
      // process is gone before removing its folder, or the removal races with a fresh log file.
      for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(25);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Environment for the AWS SDK to talk to the stack's moto (or another endpoint). */
export async function awsEnv(endpoint?: string): Promise<Record<string, string>> {
  const stack = await testStack();
  return {
    AWS_ENDPOINT_URL: endpoint ?? stack.motoUrl,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DISABLE_REQUEST_COMPRESSION: 'true',
  };
}

/** Apply {@link awsEnv} to this process. */
export async function useAwsEnv(endpoint?: string): Promise<void> {
  Object.assign(process.env, await awsEnv(endpoint));
}
