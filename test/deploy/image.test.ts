/**
 * The image's parts that can be checked without a registry: docker/build.mjs compiles the CLI to
 * JavaScript that runs without a TypeScript loader (--help, and a service answering /healthz);
 * docker/Dockerfile is multi-stage, non-root, with the windsock entrypoint, a /healthz HEALTHCHECK
 * and OCI labels; docker/compose.yaml validates with Debian's docker-compose (installed here if
 * missing) and its Windsock containers' environments load through the config schema. The image
 * build itself needs the official Node image: see docker/README.md (not run in CI).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '@windsock/core';
import { freePort } from '../helpers/stack.ts';
import { allSections, DOCKER, ROOT } from './helpers.ts';

const out = mkdtempSync(join(ROOT, 'node_modules', '.windsock-dist-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('docker/build.mjs compiles the CLI to JavaScript that runs without tsx', async () => {
  execFileSync(process.execPath, [join(DOCKER, 'build.mjs'), out], { cwd: ROOT, stdio: 'pipe' });
  const entry = join(out, 'windsock.mjs');
  assert.doesNotMatch(readFileSync(entry, 'utf8'), /from ['"]tsx/, 'no TypeScript loader');
  // container-stats reads its page next to its module: the build copies it beside the bundle.
  assert.ok(readFileSync(join(out, 'page', 'index.html')).length > 0);
  const help = spawnSync(process.execPath, [entry, '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.status, 0, help.stderr);
  for (const c of ['queue-depth', 'log-metrics', 'log-shipper', 'up', 'alarms', 'dashboards'])
    assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));

  // A compiled service serves /healthz (what the image's HEALTHCHECK asks).
  const port = await freePort();
  const child = spawn(process.execPath, [entry, 'log-metrics', join(out, '*.log')], {
    env: {
      ...process.env,
      WINDSOCK_HTTP__PORT: String(port),
      WINDSOCK_METRICS__SINKS: 'prometheus',
      WINDSOCK_STATE_DIR: join(out, 'state'),
      WINDSOCK_METRICS__EMF_PATH: '-',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((r) => child.on('exit', r));
  try {
    let ok = false;
    for (let i = 0; i < 300 && !ok && child.exitCode === null; i++) {
      ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(ok, `/healthz answers:\n${stderr}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('docker/Dockerfile: multi-stage on the official Node image, non-root, windsock entrypoint, /healthz HEALTHCHECK, OCI labels', () => {
  const df = readFileSync(join(DOCKER, 'Dockerfile'), 'utf8');
  assert.match(df, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  assert.equal((df.match(/^FROM /gm) ?? []).length, 2, 'a build stage and a runtime stage');
  assert.match(df, /node docker\/build\.mjs/);
  assert.match(df, /npm ci --omit=dev/);
  assert.match(df, /^USER node$/m);
  assert.match(df, /^ENTRYPOINT \["node", "\/app\/dist\/windsock\.mjs"\]$/m);
  assert.match(df, /^HEALTHCHECK [\s\S]*\/healthz/m);
  for (const l of ['title', 'description', 'version', 'revision', 'licenses', 'base.name'])
    assert.match(df, new RegExp(`org\\.opencontainers\\.image\\.${l.replace('.', '\\.')}=`));
});

function dockerCompose(): string {
  const which = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  assert.equal(process.getuid?.(), 0, 'docker-compose is missing: apt-get install -y docker-compose');
  execFileSync(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', '--no-install-recommends', 'docker-compose'],
    {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
    },
  );
  return '/usr/bin/docker-compose';
}

test("docker/compose.yaml validates with docker-compose config; the worker's dumb-init and Windsock's env are right", () => {
  const r = spawnSync(dockerCompose(), ['-f', join(DOCKER, 'compose.yaml'), 'config'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const { parse } = require('yaml') as typeof import('yaml');
  const cfg = parse(r.stdout) as {
    services: Record<string, { image?: string; command?: string[]; environment?: Record<string, string> }>;
  };
  for (const s of [
    'postgres',
    'redis',
    'airflow-scheduler',
    'airflow-worker',
    'windsock',
    'container-stats',
    'prometheus',
    'grafana',
  ])
    assert.ok(cfg.services[s], `service ${s}`);
  assert.equal(cfg.services['airflow-worker']?.environment?.DUMB_INIT_SETSID, '0');
  const sections = allSections();
  for (const [name, s] of Object.entries(cfg.services)) {
    if (s.image !== 'windsock:local') continue;
    try {
      loadConfig({ sections, env: s.environment ?? {} });
    } catch (err) {
      assert.fail(`compose service ${name}: ${(err as Error).message}`);
    }
  }
});

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
