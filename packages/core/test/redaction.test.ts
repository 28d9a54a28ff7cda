import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, loadConfig, Runtime, silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';

const DB_PASSWORD = 'Db-S3cret-Pa55';
const BROKER_PASSWORD = 'Br0ker-S3cret';
const env = {
  AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://airflow:${DB_PASSWORD}@127.0.0.1:1/airflow`,
  AIRFLOW__CELERY__BROKER_URL: `redis://:${BROKER_PASSWORD}@broker:6379/0`,
  WINDSOCK_HTTP__TOKEN: 'tok-abcdefghijklmnop',
};
const root = new URL('../../..', import.meta.url).pathname;
const cli = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/windsock.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env, ...extra },
  });

function assertClean(text: string, where: string) {
  for (const secret of [DB_PASSWORD, BROKER_PASSWORD, 'tok-abcdefghijklmnop']) {
    assert.ok(!text.includes(secret), `${where} leaked a secret: ${text.slice(0, 500)}`);
  }
}

describe('secrets never leave the process', () => {
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

  it('log lines are scrubbed wherever the secret appears: message, fields, errors', () => {
    loadConfig({ env }); // registers the configured secrets
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d.toString();
    });
    const log = createLogger({ name: 't', destination: out });
    log.info({ url: env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN }, 'connecting');
    log.error({ err: new Error(`connect failed for ${env.AIRFLOW__CELERY__BROKER_URL}`) }, 'broker down');
    log.warn(`bare password mention ${DB_PASSWORD} in text`);
    log.info({ nested: { dsn: `host=db password=${DB_PASSWORD} user=a` } }, 'dsn');
    log.info({ token: 'should-be-hidden-123' }, 'token field');
    assertClean(text, 'logger');
    assert.ok(!text.includes('should-be-hidden-123'));
    assert.equal(text.trim().split('\n').length, 5);
    assert.match(text, /postgresql\+psycopg2:\/\/airflow:\*\*\*@/);
  });

  it('/status is scrubbed', async () => {
    const rt = new Runtime({
      logger: silentLogger(),
      registry: new Registry(),
      http: { enabled: true, host: '127.0.0.1', port: 0 },
      shutdownGraceSeconds: 5,
      handleSignals: false,
    });
    await rt.start([
      {
        name: 'leaky',
        start: async () => {},
        stop: async () => {},
        status: () => ({ db: env.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, broker: env.AIRFLOW__CELERY__BROKER_URL }),
      },
    ]);
    const body = await (await fetch(`${rt.url()}/status`)).text();
    await rt.stop();
    assertClean(body, '/status');
    assert.match(body, /airflow:\*\*\*@127\.0\.0\.1/);
  });
});
