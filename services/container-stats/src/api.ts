/**
 * The JSON API and the live page, as routes on the process's HTTP server:
 * `GET /` (the page), `/static/*` (uPlot and the page's script, from this package),
 * `GET /api/v1/containers`, `GET /api/v1/stats?since=<unix s>&key=<container>`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExtraRoute } from '@windsock/core';
import type { Collector, Tracked } from './collector.ts';
import { type RatePoint, toRates } from './store.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** The page's files, read once at start. */
function staticFiles(): Map<string, { type: string; body: Buffer }> {
  const require = createRequire(import.meta.url);
  const uplotDir = join(dirname(require.resolve('uplot/package.json')), 'dist');
  return new Map([
    ['index.html', { type: 'text/html; charset=utf-8', body: readFileSync(join(here, 'page', 'index.html')) }],
    ['app.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(join(here, 'page', 'app.js')) }],
    [
      'uPlot.iife.min.js',
      { type: 'text/javascript; charset=utf-8', body: readFileSync(join(uplotDir, 'uPlot.iife.min.js')) },
    ],
    ['uPlot.min.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(uplotDir, 'uPlot.min.css')) }],
  ]);
}

/** A container's limits in the units the page draws (cores, bytes; null = unlimited). */
export function limitsOf(t: Tracked): { cpuLimitCores: number | null; memoryLimitBytes: number | null } {
  return {
    cpuLimitCores: t.spec.cpuQuotaUs ? t.spec.cpuQuotaUs / t.spec.cpuPeriodUs : null,
    memoryLimitBytes: t.spec.memoryLimitBytes,
  };
}

/** One container as the API lists it. */
export function containerJson(t: Tracked) {
  const rates = toRates(t.ring.since(Date.now() - 5000));
  return {
    key: t.info.key,
    id: t.info.id,
    name: t.info.name,
    image: t.info.image,
    labels: t.info.labels,
    ...(t.info.startedAt ? { startedAt: t.info.startedAt } : {}),
    limits: limitsOf(t),
    spec: t.spec,
    latest: (rates[rates.length - 1] as RatePoint | undefined) ?? null,
  };
}

/** The routes of the page and the JSON API. */
export function apiRoutes(collector: Collector): ExtraRoute[] {
  const files = staticFiles();
  const page = files.get('index.html') as { type: string; body: Buffer };
  return [
    {
      method: 'GET',
      url: '/',
      handler: (_req, reply) => reply.type(page.type).send(page.body),
    },
    {
      method: 'GET',
      url: '/static/:file',
      handler: (req, reply) => {
        const f = files.get((req.params as { file: string }).file);
        if (!f || (req.params as { file: string }).file === 'index.html')
          return reply.code(404).send({ error: 'no such file' });
        return reply.type(f.type).header('cache-control', 'max-age=3600').send(f.body);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/containers',
      handler: () => {
        const containers = [...collector.containers.values()].map(containerJson);
        containers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return { containers };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/stats',
      handler: (req, reply) => {
        const q = req.query as { since?: string; key?: string };
        const since = q.since === undefined ? 0 : Number(q.since);
        if (!Number.isFinite(since))
          return reply.code(400).send({ error: 'since must be unix seconds, e.g. since=1767225600' });
        // One sample before `since`, so the first rate in the window exists.
        const sinceMs = since * 1000 - 1500;
        const node = collector.node
          ? {
              cpuCores: collector.node.cpuCores,
              memoryBytes: collector.node.memoryBytes,
              points: toRates(collector.node.ring.since(sinceMs)).filter((p) => p.t > since),
            }
          : null;
        const containers: Record<string, unknown> = {};
        const pick = q.key
          ? [collector.containers.get(q.key)].filter((t): t is Tracked => !!t)
          : collector.containers.values();
        for (const t of pick) {
          containers[t.info.key] = {
            name: t.info.name,
            limits: limitsOf(t),
            points: toRates(t.ring.since(sinceMs)).filter((p) => p.t > since),
          };
        }
        return { node, containers };
      },
    },
  ];
}
