import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, defineSection, field, loadConfig, redactSecretValue, z } from '@windsock/core';

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

  it('uses defaults when nothing is set', () => {
    const { config, sources } = loadConfig({ sections: [section], env: {} });
    assert.equal(config.cluster, 'airflow');
    assert.equal((config as unknown as { demoService: { intervalSeconds: number } }).demoService.intervalSeconds, 15);
    assert.equal(sources.get('demoService.intervalSeconds'), 'default');
  });

  it('applies precedence flags > WINDSOCK_ env > file > fallback env > default', () => {
    const withFallback = defineSection('demoService', {
      folder: field(z.string().default('/default'), 'A folder.', {
        fallbackEnv: ['OTHER__FOLDER', 'OTHER__OLD_FOLDER'],
      }),
      url: field(z.string().optional(), 'A URL.', { fallbackEnv: ['OTHER__URL'] }),
    });
    const env = { OTHER__FOLDER: '/other', OTHER__OLD_FOLDER: '/old', OTHER__URL: 'x://y' };
    const file = yaml('fb.yaml', 'demoService:\n  folder: /file\n');
    const fromFile = loadConfig({ sections: [withFallback], env, file });
    const c = fromFile.config as unknown as { demoService: { folder: string; url: string } };
    assert.equal(c.demoService.folder, '/file', 'file beats the fallback env');
    assert.equal(c.demoService.url, 'x://y', 'the fallback env beats the default');
    assert.equal(fromFile.sources.get('demoService.url'), 'env OTHER__URL');
    const fromEnv = loadConfig({ sections: [withFallback], env });
    assert.equal(
      (fromEnv.config as unknown as { demoService: { folder: string } }).demoService.folder,
      '/other',
      'first match wins',
    );
    const fromFlag = loadConfig({
      sections: [withFallback],
      env: { ...env, WINDSOCK_DEMO_SERVICE__FOLDER: '/env' },
      flags: { 'demoService.folder': '/flag' },
    });
    assert.equal((fromFlag.config as unknown as { demoService: { folder: string } }).demoService.folder, '/flag');
  });

  it('names the key, the source, the problem and a good value when a value is bad', () => {
    assert.throws(
      () => loadConfig({ sections: [section], env: { WINDSOCK_DEMO_SERVICE__INTERVAL_SECONDS: 'soon' } }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes('demoService.intervalSeconds') &&
        e.message.includes('WINDSOCK_DEMO_SERVICE__INTERVAL_SECONDS') &&
        e.message.includes('"soon"') &&
        e.message.includes('Example: 15'),
    );
    const file = yaml('neg.yaml', 'demoService:\n  intervalSeconds: -5\n');
    assert.throws(
      () => loadConfig({ sections: [section], env: {}, file }),
      (e: Error) =>
        e instanceof ConfigError &&
        /demoService\.intervalSeconds \(from file .*neg\.yaml\): .*>0.*got -5/.test(e.message),
    );
  });

  it('rejects unknown keys and unknown WINDSOCK_ variables by name', () => {
    const file = yaml('typo.yaml', 'demoService:\n  intervalSecs: 5\n');
    assert.throws(
      () => loadConfig({ sections: [section], env: {}, file }),
      /unknown config key demoService\.intervalSecs .*known keys here: .*intervalSeconds/,
    );
    assert.throws(
      () => loadConfig({ sections: [section], env: { WINDSOCK_FLUSH: '5' } }),
      /unknown environment variable WINDSOCK_FLUSH/,
    );
    assert.throws(
      () => loadConfig({ sections: [section], env: {}, file: yaml('list.yaml', '- a\n- b\n') }),
      /must be a YAML mapping/,
    );
    assert.throws(
      () => loadConfig({ sections: [section], env: {}, file: yaml('broken.yaml', 'a: [\n') }),
      /not valid YAML at line/,
    );
    assert.throws(
      () => loadConfig({ sections: [section], env: {}, file: join(tmp, 'missing.yaml') }),
      /cannot read config file .*ENOENT/,
    );
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

describe('config errors name what the user typed', () => {
  it('a flag by the flag, an env variable by its name', () => {
    assert.throws(
      () =>
        loadConfig({
          sections: [section],
          env: {},
          flags: { 'demoService.intervalSeconds': 'soon' },
          flagNames: { 'demoService.intervalSeconds': '--interval' },
        }),
      /config key demoService\.intervalSeconds \(from flag --interval\): expected a number, got "soon"/,
    );
    assert.throws(
      () =>
        loadConfig({
          sections: [section],
          env: {},
          flags: { 'demoService.intervalSeconds': -1 },
          flagNames: { 'demoService.intervalSeconds': '--interval' },
        }),
      /config key demoService\.intervalSeconds \(from flag --interval\): .*got -1/,
    );
  });

  it('an unknown WINDSOCK_ variable suggests the nearest real one', () => {
    const unknown = (name: string) => () => loadConfig({ sections: [section], env: { [name]: '1' } });
    assert.throws(
      unknown('WINDSOCK_DEMO_SERVICE__INTERVAL_SECOND'),
      /unknown environment variable WINDSOCK_DEMO_SERVICE__INTERVAL_SECOND: .*did you mean WINDSOCK_DEMO_SERVICE__INTERVAL_SECONDS\?/,
    );
    assert.throws(unknown('WINDSOCK_HTTP_PORT'), /did you mean WINDSOCK_HTTP__PORT\?/);
    assert.throws(unknown('WINDSOCK_QUEUES'), /did you mean WINDSOCK_DEMO_SERVICE__QUEUES\?/);
    assert.throws(unknown('WINDSOCK_COMPLETELY_DIFFERENT'), (e: Error) => !e.message.includes('did you mean'));
  });

  it('a malformed secret URL is shown without its password only', () => {
    const secretUrl = defineSection('demoService', {
      url: field(
        z.string().refine((v) => v.includes('://') && URL.canParse(v), 'not a valid URL'),
        'A URL with a password.',
        { secret: true },
      ),
    });
    for (const [typed, shown] of [
      ['postgresql+psycopg2://airflow:pw-Secret1@db:99999/x', 'postgresql+psycopg2://airflow:***@db:99999/x'],
      ['postgresql://airflow:p@ss-Secret2@db:99999/x', 'postgresql://airflow:***@db:99999/x'],
      ['airflow:pw-Secret3@db:5432', 'airflow:***@db:5432'],
    ] as const) {
      assert.throws(
        () => loadConfig({ sections: [secretUrl], env: { WINDSOCK_DEMO_SERVICE__URL: typed } }),
        (e: Error) => e.message.includes(`got ${JSON.stringify(shown)}`) && !/Secret\d/.test(e.message),
        typed,
      );
    }
    assert.equal(redactSecretValue('a-plain-token-value'), '***');
  });
});
