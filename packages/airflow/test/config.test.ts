import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { airflowConfigSection, urlProblem } from '@windsock/airflow/config';
import { ConfigError, loadConfig } from '@windsock/core';
import { freePort } from '../../../test/helpers/stack.ts';

const tmp = mkdtempSync(join(tmpdir(), 'ws-airflow-config-'));
const yaml = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const root = new URL('../../..', import.meta.url).pathname;
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

describe('the airflow config section', () => {
  it('applies precedence flags > WINDSOCK_ env > file > Airflow env > default', () => {
    const file = yaml(
      'p.yaml',
      'cluster: from-file\nairflow:\n  baseLogFolder: /file/logs\n  brokerUrl: redis://file:6379/0\n',
    );
    const env = {
      WINDSOCK_CLUSTER: 'from-env',
      AIRFLOW__LOGGING__BASE_LOG_FOLDER: '/airflow/logs',
      AIRFLOW__CELERY__BROKER_URL: 'redis://airflow-env:6379/0',
      AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: 's3://bucket/logs',
    };
    const { config, sources } = loadConfig({
      sections: [airflowConfigSection],
      env,
      file,
      flags: { cluster: 'from-flag' },
    });
    const c = config as unknown as { cluster: string; airflow: Record<string, string> };
    assert.equal(c.cluster, 'from-flag');
    assert.equal(sources.get('cluster'), 'flag cluster');
    assert.equal(c.airflow.baseLogFolder, '/file/logs', 'file beats Airflow env');
    assert.equal(c.airflow.brokerUrl, 'redis://file:6379/0');
    assert.equal(c.airflow.remoteBaseLogFolder, 's3://bucket/logs', 'Airflow env beats default');
    assert.equal(sources.get('airflow.remoteBaseLogFolder'), 'env AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER');
    const noFlag = loadConfig({ sections: [airflowConfigSection], env, file });
    assert.equal((noFlag.config as { cluster: string }).cluster, 'from-env');
  });

  it("reads Airflow's SQLAlchemy URL in its psycopg2, psycopg and 2.x [core] forms", () => {
    // The expected URLs are written out: the driver suffix and the `postgres` alias become postgresql.
    for (const [name, url, expected] of [
      [
        'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
        'postgresql+psycopg2://a:b@db:5432/airflow',
        'postgresql://a:b@db:5432/airflow',
      ],
      [
        'AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
        'postgresql+psycopg://a:b@db:5432/airflow?sslmode=require',
        'postgresql://a:b@db:5432/airflow?sslmode=require',
      ],
      ['AIRFLOW__CORE__SQL_ALCHEMY_CONN', 'postgres://a:b@db:5432/airflow', 'postgresql://a:b@db:5432/airflow'],
    ] as const) {
      const { config, sources } = loadConfig({ sections: [airflowConfigSection], env: { [name]: url } });
      const got = (config as { airflow: { databaseUrl: string } }).airflow.databaseUrl;
      assert.equal(got, expected);
      assert.equal(sources.get('airflow.databaseUrl'), `env ${name}`);
    }
    // The 2.3+ [database] section wins over the deprecated [core] one.
    const both = loadConfig({
      sections: [airflowConfigSection],
      env: {
        AIRFLOW__CORE__SQL_ALCHEMY_CONN: 'postgresql://old@db/x',
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql://new@db/x',
      },
    });
    assert.equal((both.config as { airflow: { databaseUrl: string } }).airflow.databaseUrl, 'postgresql://new@db/x');
  });

  it('rejects a database URL that is not PostgreSQL without printing its password', () => {
    assert.throws(
      () =>
        loadConfig({
          sections: [airflowConfigSection],
          env: { AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'mysql://u:pw12345@db/airflow' },
        }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('airflow.databaseUrl') &&
        e.message.includes('PostgreSQL') &&
        !e.message.includes('pw12345'),
    );
  });
});

describe('windsock config check (the airflow section checks the metadb)', () => {
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
});

describe('airflow secrets never leave the process', () => {
  const DB_PASSWORD = 'Db-S3cret-Pa55';
  const BROKER_PASSWORD = 'Br0ker-S3cret';
  const env = {
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://airflow:${DB_PASSWORD}@127.0.0.1:1/airflow`,
    AIRFLOW__CELERY__BROKER_URL: `redis://:${BROKER_PASSWORD}@broker:6379/0`,
    WINDSOCK_HTTP__TOKEN: 'tok-abcdefghijklmnop',
  };
  const assertClean = (text: string, where: string) => {
    for (const secret of [DB_PASSWORD, BROKER_PASSWORD, 'tok-abcdefghijklmnop']) {
      assert.ok(!text.includes(secret), `${where} leaked a secret: ${text.slice(0, 500)}`);
    }
  };
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['bin/windsock.mjs', ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...clean, ...env },
    });

  it('config print redacts URL passwords and tokens but shows the rest', () => {
    const r = cli(['config', 'print']);
    assert.equal(r.status, 0, r.stderr);
    assertClean(r.stdout + r.stderr, 'config print');
    assert.match(r.stdout, /airflow\.databaseUrl = "postgresql:\/\/airflow:\*\*\*@127\.0\.0\.1:1\/airflow"/);
    assert.match(r.stdout, /airflow\.brokerUrl = "redis:\/\/:\*\*\*@broker:6379\/0"/);
    assert.match(r.stdout, /http\.token = "\*\*\*"/);
    const j = cli(['config', 'print', '--format', 'json']);
    assertClean(j.stdout, 'config print --format json');
  });

  it('an error about an unreachable database names the host but not the password', () => {
    const r = cli(['config', 'check']);
    assert.equal(r.status, 1);
    assertClean(r.stdout + r.stderr, 'config check error');
    assert.match(
      r.stderr,
      /^windsock: error: cannot reach the metadb at postgresql:\/\/airflow:\*\*\*@127\.0\.0\.1:1\/airflow: ECONNREFUSED/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  });
});

describe('airflow URLs are validated at start-up', () => {
  it('a port out of range is a config error naming the variable, the password alone redacted', () => {
    assertOneLine(
      cli(['config', 'print'], {
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql+psycopg2://airflow:pw-Hidden-1@metadb:99999/airflow',
      }),
      2,
      /^windsock: error: config key airflow\.databaseUrl \(from env AIRFLOW__DATABASE__SQL_ALCHEMY_CONN\): port 99999 is out of range \(1-65535\), got "postgresql\+psycopg2:\/\/airflow:\*\*\*@metadb:99999\/airflow"/,
    );
  });

  it('a flag is named as typed (--broker-url), not only by its config key', () => {
    const r = cli([
      'queue-depth',
      '--once',
      '--database-url',
      'postgresql://a@db/x',
      '--broker-url',
      'redis://:pw-Hidden-2@broker:70000/0',
    ]);
    assertOneLine(
      r,
      2,
      /^windsock: error: config key airflow\.brokerUrl \(from flag --broker-url\): port 70000 is out of range \(1-65535\), got "redis:\/\/:\*\*\*@broker:70000\/0"/,
    );
    assert.ok(!r.stderr.includes('pw-Hidden-2'));
  });

  it('an unparsable URL says what to encode', () => {
    const problem = urlProblem('postgresql://airflow:pa#ss@db/airflow');
    assert.match(problem ?? '', /percent-encoded/);
    assert.equal(urlProblem('postgresql://airflow:pa%23ss@db:5432/airflow'), undefined);
  });
});
