/**
 * ECS task metadata v4 discovery on recorded responses (prometheus-community/ecs_exporter's
 * fixtures, captured on Fargate and on EC2 with cgroup v2), served over HTTP as the agent does.
 * Expected values are computed from the fixtures themselves.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';
import { Collector } from '../src/collector.ts';
import { type DockerStats, EcsTaskDiscovery, type TaskMetadata } from '../src/discovery/ecs.ts';
import { registerCadvisorMetrics } from '../src/prometheus.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/ecs/${name}.json`, import.meta.url), 'utf8')) as unknown;

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** An agent-like endpoint: `<base>/task` and `<base>/task/stats`. */
async function agent(task: unknown, stats: unknown): Promise<string> {
  const srv = createServer((req, res) => {
    const body = req.url === '/v4/abc/task' ? task : req.url === '/v4/abc/task/stats' ? stats : undefined;
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: 'not found' }));
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}/v4/abc`;
}

async function collect(kind: 'fargate' | 'ec2') {
  const task = fixture(`${kind}_task_metadata`) as TaskMetadata;
  const stats = fixture(`${kind}_task_stats`) as Record<string, DockerStats | null>;
  const uri = await agent(task, stats);
  const collector = new Collector({
    discovery: new EcsTaskDiscovery({ metadataUri: uri, logger: silentLogger() }),
    logger: silentLogger(),
    samples: 10,
    maxContainers: 100,
  });
  await collector.start();
  await collector.tick();
  const registry = new Registry();
  registerCadvisorMetrics(registry, collector);
  return { task, stats, collector, text: await registry.metrics() };
}

describe('ECS task metadata v4', () => {
  for (const kind of ['fargate', 'ec2'] as const) {
    test(`${kind}: running containers, their labels, limits and Docker-stats numbers`, async () => {
      const { task, stats, collector, text } = await collect(kind);
      const running = task.Containers.filter((c) => c.KnownStatus === 'RUNNING');
      assert.ok(running.length >= 1);
      assert.equal(collector.containers.size, running.length, 'stopped containers ({} or null stats) are left out');
      const taskId = task.TaskARN.slice(task.TaskARN.lastIndexOf('/') + 1);
      for (const c of running) {
        const t = collector.containers.get(c.DockerId);
        assert.ok(t, c.Name);
        assert.equal(t.info.id, `/ecs/${taskId}/${c.DockerId}`);
        assert.equal(t.info.name, c.DockerName ?? c.Name);
        if (task.ServiceName) assert.equal(t.info.labels['com.amazonaws.ecs.service-name'], task.ServiceName);
        const s = stats[c.DockerId] as DockerStats;
        const mem = s.memory_stats ?? {};
        const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
        assert.equal(t.last?.memoryWorkingSetBytes, (mem.usage ?? 0) - inactive);
        assert.equal(t.last?.cpuUsageNs, s.cpu_stats?.cpu_usage?.total_usage);
        const limitMiB = c.Limits?.Memory ?? task.Limits?.Memory;
        assert.equal(t.spec.memoryLimitBytes, limitMiB ? limitMiB * 1024 * 1024 : null);
        assert.equal(t.spec.cpuQuotaUs, task.Limits?.CPU ? Math.round(task.Limits.CPU * 100_000) : 0);
        const reads = (s.blkio_stats?.io_service_bytes_recursive ?? []).filter((e) => e.op.toLowerCase() === 'read');
        const readTotal = reads.reduce((a, e) => a + e.value, 0);
        assert.equal(
          t.last?.io.reduce((a, d) => a + d.readBytes, 0),
          readTotal,
          'blkio Read/read ops, any case',
        );
        const rx = Object.values(s.networks ?? {}).reduce((a, n) => a + n.rx_bytes, 0);
        assert.equal(
          t.last?.network.reduce((a, n) => a + n.rxBytes, 0),
          rx,
        );
        assert.ok(text.includes(`id="/ecs/${taskId}/${c.DockerId}"`));
      }
      assert.match(text, /^container_memory_working_set_bytes\{/m);
      await collector.stop();
    });
  }

  test('an unreachable endpoint is reported, not thrown', async () => {
    const collector = new Collector({
      discovery: new EcsTaskDiscovery({
        metadataUri: 'http://127.0.0.1:9/v4/x',
        logger: silentLogger(),
        timeoutMs: 500,
      }),
      logger: silentLogger(),
      samples: 10,
      maxContainers: 10,
    });
    await collector.start();
    await collector.tick();
    const d = collector.status().discovery as { connected: boolean; lastError?: string };
    assert.equal(d.connected, false);
    assert.ok(d.lastError);
    await collector.stop();
  });
});
