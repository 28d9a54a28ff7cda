import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../../../test/helpers/stack.ts';

const root = new URL('../../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ws-cli-'));
const clean = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW__') && !k.startsWith('WINDSOCK_')),
);
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/windsock.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });

function assertOneLine(r: ReturnType<typeof cli>, code: number, pattern: RegExp) {
  assert.equal(r.status, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('windsock CLI errors', () => {
  it('a bad config file gives one line naming the key and a good value', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, 'http:\n  port: 70000\n');
    assertOneLine(
      cli(['config', 'print', '--config', f]),
      2,
      /^windsock: error: config key http\.port \(from file .*bad\.yaml\): .*65535.*got 70000\. Example of a good value: 9464$/,
    );
  });

  it('a bad env value gives one line naming the variable', () => {
    assertOneLine(
      cli(['config', 'print'], { WINDSOCK_LEADER__ENABLED: 'sometimes' }),
      2,
      /^windsock: error: config key leader\.enabled \(from env WINDSOCK_LEADER__ENABLED\): expected true or false, got "sometimes"$/,
    );
  });

  it('an unreachable database gives one line and exit 1', async () => {
    const port = await freePort();
    assertOneLine(
      cli(['config', 'check'], {
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://airflow:pw-xyz-123@127.0.0.1:${port}/airflow`,
      }),
      1,
      new RegExp(
        `^windsock: error: cannot reach the metadb at postgresql://airflow:\\*\\*\\*@127\\.0\\.0\\.1:${port}/airflow: ECONNREFUSED`,
      ),
    );
  });

  it('--help lists the registered commands', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: windsock/);
    assert.match(r.stdout, /config/);
  });

  it('npx windsock works from the project root (the root package bin)', () => {
    const r = spawnSync('npx', ['--no-install', 'windsock', '--version'], { cwd: root, encoding: 'utf8', env: clean });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });
});
