/**
 * `windsock log-shipper` on wrong input fails at start-up with one line on stderr and exit code 2,
 * before any upload is tried: a base log folder that does not exist (it used to report
 * `confirmed 0` and exit 0), and no AWS region (it used to retry every upload
 * five times before failing). The daemon and `--once` behave the same.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { awsEnv } from '../../../test/helpers/stack.ts';

const BIN = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ls-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with only the environment given (no AWS_*, AIRFLOW__* or WINDSOCK_* from this process). */
function windsock(args: string[], env: Record<string, string>): SpawnSyncReturns<string> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_') && !k.startsWith('AWS_'),
    ),
  );
  return spawnSync(process.execPath, [BIN, 'log-shipper', ...args], {
    encoding: 'utf8',
    env: {
      ...clean,
      // No shared AWS config either: the region can come only from what the test passes.
      HOME: join(dir, 'home'),
      AWS_CONFIG_FILE: join(dir, 'home', 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'home', 'aws-credentials'),
      WINDSOCK_STATE_DIR: join(dir, 'state'),
      WINDSOCK_HTTP__ENABLED: 'false',
      // The SDK's notice about future Node versions is not ours to count.
      NODE_NO_WARNINGS: '1',
      AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: 's3://startup-bucket/logs',
      ...env,
    },
    timeout: 60_000,
  });
}

function oneLine(r: SpawnSyncReturns<string>): string {
  // The AWS SDK's notice that it will need a newer Node is the SDK's, printed on load whatever the input.
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.includes('NodeVersionSupportWarning'));
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${r.stderr}`);
  return lines[0]!;
}

/** A base folder with one finished task log in it, so that a run that gets past start-up has work to do. */
function baseWithOneLog(name: string): string {
  const base = join(dir, name);
  const path = join(base, 'dag_id=d/run_id=r/task_id=t/attempt=1.log');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, 'INFO - Task exited with return code 0\n');
  return base;
}

test('--once: a base log folder that does not exist is one line and exit 2', async () => {
  const r = windsock(['--once', '--base-log-folder', join(dir, 'no-such-folder')], await awsEnv());
  assert.equal(r.status, 2, r.stderr);
  const line = oneLine(r);
  assert.match(line, /^windsock: error: airflow\.baseLogFolder ".*no-such-folder" does not exist/);
  assert.match(line, /--base-log-folder or AIRFLOW__LOGGING__BASE_LOG_FOLDER/);
});

test('the daemon: a base log folder that does not exist is one line and exit 2', async () => {
  const r = windsock(['--base-log-folder', join(dir, 'no-such-folder')], await awsEnv());
  assert.equal(r.status, 2, r.stderr);
  assert.match(oneLine(r), /^windsock: error: airflow\.baseLogFolder ".*no-such-folder" does not exist/);
});

test('--once: no AWS region is one line and exit 2, before any upload', async () => {
  const { AWS_REGION: _region, ...env } = await awsEnv();
  const r = windsock(['--once', '--base-log-folder', baseWithOneLog('region')], env);
  assert.equal(r.status, 2, r.stderr);
  const line = oneLine(r);
  assert.match(line, /^windsock: error: no AWS region for S3: set aws\.region \(WINDSOCK_AWS__REGION\) or AWS_REGION/);
});
