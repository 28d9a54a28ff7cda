import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, defineSection, field, loadConfig, z } from '@windsock/core';

const tmp = mkdtempSync(join(tmpdir(), 'ws-config-'));
const yaml = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};
const section = defineSection('demoService', {
  queues: field(z.array(z.string()).default([]), 'Queues to watch.', { example: 'default,heavy' }),
  intervalSeconds: field(z.number().positive().default(15), 'Poll interval.', { example: '15' }),
});

describe('config', () => {
  it('uses defaults when nothing is set', () => {
    const { config, sources } = loadConfig({ env: {} });
    assert.equal(config.cluster, 'airflow');
    assert.equal((config as { metrics: { flushIntervalSeconds: number } }).metrics.flushIntervalSeconds, 60);
    assert.equal(sources.get('metrics.flushIntervalSeconds'), 'default');
  });

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
    const { config, sources } = loadConfig({ env, file, flags: { cluster: 'from-flag' } });
    const c = config as unknown as { cluster: string; airflow: Record<string, string> };
    assert.equal(c.cluster, 'from-flag');
    assert.equal(sources.get('cluster'), 'flag cluster');
    assert.equal(c.airflow.baseLogFolder, '/file/logs', 'file beats Airflow env');
    assert.equal(c.airflow.brokerUrl, 'redis://file:6379/0');
    assert.equal(c.airflow.remoteBaseLogFolder, 's3://bucket/logs', 'Airflow env beats default');
    assert.equal(sources.get('airflow.remoteBaseLogFolder'), 'env AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER');
    const noFlag = loadConfig({ env, file });
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
      const { config, sources } = loadConfig({ env: { [name]: url } });
      const got = (config as { airflow: { databaseUrl: string } }).airflow.databaseUrl;
      assert.equal(got, expected);
      assert.equal(sources.get('airflow.databaseUrl'), `env ${name}`);
    }
    // The 2.3+ [database] section wins over the deprecated [core] one.
    const both = loadConfig({
      env: {
        AIRFLOW__CORE__SQL_ALCHEMY_CONN: 'postgresql://old@db/x',
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'postgresql://new@db/x',
      },
    });
    assert.equal((both.config as { airflow: { databaseUrl: string } }).airflow.databaseUrl, 'postgresql://new@db/x');
  });

  it('coerces env values by the schema type, lists as JSON or comma separated', () => {
    const { config } = loadConfig({
      sections: [section],
      env: {
        WINDSOCK_DEMO_SERVICE__QUEUES: 'default, heavy',
        WINDSOCK_DEMO_SERVICE__INTERVAL_SECONDS: '2.5',
        WINDSOCK_HTTP__ENABLED: 'false',
      },
    });
    const c = config as unknown as {
      demoService: { queues: string[]; intervalSeconds: number };
      http: { enabled: boolean };
    };
    assert.deepEqual(c.demoService.queues, ['default', 'heavy']);
    assert.equal(c.demoService.intervalSeconds, 2.5);
    assert.equal(c.http.enabled, false);
    const json = loadConfig({ sections: [section], env: { WINDSOCK_DEMO_SERVICE__QUEUES: '["a","b,c"]' } });
    assert.deepEqual((json.config as unknown as { demoService: { queues: string[] } }).demoService.queues, [
      'a',
      'b,c',
    ]);
  });

  it('names the key, the source, the problem and a good value when a value is bad', () => {
    assert.throws(
      () => loadConfig({ env: { WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS: 'soon' } }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('metrics.flushIntervalSeconds') &&
        e.message.includes('WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS') &&
        e.message.includes('"soon"') &&
        e.message.includes('Example: 60'),
    );
    const file = yaml('neg.yaml', 'metrics:\n  flushIntervalSeconds: -5\n');
    assert.throws(
      () => loadConfig({ env: {}, file }),
      (e: Error) =>
        e instanceof ConfigError &&
        /metrics\.flushIntervalSeconds \(from file .*neg\.yaml\): .*>0.*got -5/.test(e.message),
    );
    assert.throws(
      () => loadConfig({ env: { AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: 'mysql://u:pw12345@db/airflow' } }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('airflow.databaseUrl') &&
        e.message.includes('PostgreSQL') &&
        !e.message.includes('pw12345'),
    );
  });

  it('rejects unknown keys and unknown WINDSOCK_ variables by name', () => {
    const file = yaml('typo.yaml', 'metrics:\n  flushIntervalSecs: 5\n');
    assert.throws(
      () => loadConfig({ env: {}, file }),
      /unknown config key metrics\.flushIntervalSecs .*known keys here: .*flushIntervalSeconds/,
    );
    assert.throws(() => loadConfig({ env: { WINDSOCK_FLUSH: '5' } }), /unknown environment variable WINDSOCK_FLUSH/);
    assert.throws(() => loadConfig({ env: {}, file: yaml('list.yaml', '- a\n- b\n') }), /must be a YAML mapping/);
    assert.throws(() => loadConfig({ env: {}, file: yaml('broken.yaml', 'a: [\n') }), /not valid YAML at line/);
    assert.throws(() => loadConfig({ env: {}, file: join(tmp, 'missing.yaml') }), /cannot read config file .*ENOENT/);
  });
});

describe('README configuration reference', () => {
  it('is generated from the schema and up to date', () => {
    const r = spawnSync(process.execPath, ['bin/windsock.mjs', 'config', 'reference', '--check', 'README.md'], {
      encoding: 'utf8',
      cwd: new URL('../../..', import.meta.url).pathname,
    });
    assert.equal(r.status, 0, `README reference is stale: run npm run docs:config\n${r.stderr}`);
  });
});
