import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Runtime, silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';

const child = join(import.meta.dirname, 'fixtures', 'lifecycle-child.ts');

async function runChild(stopMs: number, graceSeconds: number) {
  const checkpoint = join(mkdtempSync(join(tmpdir(), 'ws-life-')), 'checkpoint.json');
  const p = spawn(process.execPath, ['--import', 'tsx', child, checkpoint, String(stopMs), String(graceSeconds)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res) =>
    p.stdout?.on('data', (d) => res(/ready (\S+)/.exec(String(d))?.[1] ?? '')),
  );
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const sentAt = Date.now();
  p.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
  return { code, tookMs: Date.now() - sentAt, checkpoint };
}

describe('service lifecycle', () => {
  it('SIGTERM stops taking work, lets the service flush and checkpoint, exits 0', async () => {
    const r = await runChild(300, 5);
    assert.equal(r.code, 0);
    assert.ok(existsSync(r.checkpoint), 'checkpoint written during shutdown');
    assert.ok(JSON.parse(readFileSync(r.checkpoint, 'utf8')).flushed > 0);
    assert.ok(r.tookMs >= 300, 'waited for the flush');
  });

  it('a stop slower than the grace period exits non-zero at the deadline', async () => {
    // The service's stop would take 60 s; exiting before it did is the 1 s grace period's doing
    // (a bound on the order of events, not a latency target: a loaded machine is slow, not 59 s slow).
    const r = await runChild(60_000, 1);
    assert.equal(r.code, 1);
    assert.ok(r.tookMs < 60_000, `exited after ${r.tookMs} ms: before the service's own stop ended`);
    assert.ok(!existsSync(r.checkpoint));
  });

  it('the default grace period is under ECS stopTimeout (30 s)', async () => {
    const { loadConfig } = await import('@windsock/core');
    const { config } = loadConfig({ env: {} });
    assert.ok((config as { shutdownGraceSeconds: number }).shutdownGraceSeconds < 30);
  });
});

describe('HTTP endpoints', () => {
  it('serves healthz, readyz (503 while a dependency is down), metrics, status, and guards mutating routes', async () => {
    let brokerUp: true | string = 'connection refused';
    const registry = new Registry();
    registry.registerMetric(
      new (await import('prom-client')).Counter({ name: 'windsock_test_things_total', help: 'things', registers: [] }),
    );
    const rt = new Runtime({
      logger: silentLogger(),
      registry,
      http: { enabled: true, host: '127.0.0.1', port: 0, token: 'the-token-1234567890' },
      shutdownGraceSeconds: 5,
      handleSignals: false,
    });
    let pokes = 0;
    await rt.start([
      {
        name: 'svc',
        start: async () => {},
        stop: async () => {},
        readiness: async () => ({ metadb: true, broker: brokerUp }),
        status: () => ({ polls: 3 }),
        routes: () => [
          {
            method: 'POST',
            url: '/poke',
            mutating: true,
            handler: () => {
              pokes++;
              return { pokes };
            },
          },
        ],
      },
    ]);
    const base = rt.url() as string;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'loopback by default');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(((await notReady.json()) as { checks: unknown }).checks, {
      'svc.metadb': true,
      'svc.broker': 'connection refused',
    });
    brokerUp = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const metrics = await fetch(`${base}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await metrics.text(), /windsock_test_things_total 0/);
    assert.deepEqual(((await (await fetch(`${base}/status`)).json()) as { services: unknown }).services, {
      svc: { polls: 3 },
    });
    assert.equal((await fetch(`${base}/poke`, { method: 'POST' })).status, 401);
    assert.equal(
      (await fetch(`${base}/poke`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-123456789' } }))
        .status,
      401,
    );
    assert.equal(pokes, 0);
    const ok = await fetch(`${base}/poke`, {
      method: 'POST',
      headers: { authorization: 'Bearer the-token-1234567890' },
    });
    assert.equal(ok.status, 200);
    assert.equal(pokes, 1);
    const stopping = rt.stop();
    await stopping;
  });

  it('mutating routes are disabled (403) when no token is configured', async () => {
    const rt = new Runtime({
      logger: silentLogger(),
      registry: new Registry(),
      http: { enabled: true, host: '127.0.0.1', port: 0 },
      shutdownGraceSeconds: 5,
      handleSignals: false,
    });
    await rt.start([
      {
        name: 's',
        start: async () => {},
        stop: async () => {},
        routes: () => [{ method: 'POST', url: '/x', mutating: true, handler: () => 'done' }],
      },
    ]);
    const r = await fetch(`${rt.url()}/x`, {
      method: 'POST',
      headers: { authorization: 'Bearer anything-at-all-1234' },
    });
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: string }).error, /set http\.token/);
    await rt.stop();
  });
});
