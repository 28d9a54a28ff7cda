import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, defineSection, field, loadConfig, Runtime, silentLogger, z } from '@windsock/core';
import { Registry } from 'prom-client';

const DB_PASSWORD = 'Db-S3cret-Pa55';
const BROKER_PASSWORD = 'Br0ker-S3cret';
const env = {
  OTHER__DATABASE_URL: `postgresql+psycopg2://metadb:${DB_PASSWORD}@127.0.0.1:1/metadb`,
  OTHER__BROKER_URL: `redis://:${BROKER_PASSWORD}@broker:6379/0`,
  WINDSOCK_HTTP__TOKEN: 'tok-abcdefghijklmnop',
};
/** A section with secret URLs that fall back to another program's variables. */
const secrets = defineSection('demo', {
  databaseUrl: field(z.string().optional(), 'A database.', { secret: true, fallbackEnv: ['OTHER__DATABASE_URL'] }),
  brokerUrl: field(z.string().optional(), 'A broker.', { secret: true, fallbackEnv: ['OTHER__BROKER_URL'] }),
});
function assertClean(text: string, where: string) {
  for (const secret of [DB_PASSWORD, BROKER_PASSWORD, 'tok-abcdefghijklmnop']) {
    assert.ok(!text.includes(secret), `${where} leaked a secret: ${text.slice(0, 500)}`);
  }
}

describe('secrets never leave the process', () => {
  it('log lines are scrubbed wherever the secret appears: message, fields, errors', () => {
    loadConfig({ sections: [secrets], env }); // registers the configured secrets
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d.toString();
    });
    const log = createLogger({ name: 't', destination: out });
    log.info({ url: env.OTHER__DATABASE_URL }, 'connecting');
    log.error({ err: new Error(`connect failed for ${env.OTHER__BROKER_URL}`) }, 'broker down');
    log.warn(`bare password mention ${DB_PASSWORD} in text`);
    log.info({ nested: { dsn: `host=db password=${DB_PASSWORD} user=a` } }, 'dsn');
    log.info({ token: 'should-be-hidden-123' }, 'token field');
    assertClean(text, 'logger');
    assert.ok(!text.includes('should-be-hidden-123'));
    assert.equal(text.trim().split('\n').length, 5);
    assert.match(text, /postgresql\+psycopg2:\/\/metadb:\*\*\*@/);
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
        status: () => ({ db: env.OTHER__DATABASE_URL, broker: env.OTHER__BROKER_URL }),
      },
    ]);
    const body = await (await fetch(`${rt.url()}/status`)).text();
    await rt.stop();
    assertClean(body, '/status');
    assert.match(body, /metadb:\*\*\*@127\.0\.0\.1/);
  });
});
