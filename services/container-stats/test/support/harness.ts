/**
 * A container-stats service on the test stack's Docker engine, served over HTTP on a free port,
 * plus containers started with their own HostConfig (removed by `cleanup()`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupMountsFromProc } from '@windsock/cgroups';
import { silentLogger as makeSilentLogger, Runtime } from '@windsock/core';
import { createDockerClient } from '@windsock/docker';
import type Docker from 'dockerode';
import { Registry } from 'prom-client';
import { testStack } from '../../../../test/helpers/stack.ts';
import { Collector } from '../../src/collector.ts';
import { DockerDiscovery } from '../../src/discovery/docker.ts';
import { ContainerStatsService } from '../../src/service.ts';

const silentLogger = makeSilentLogger();

export const mounts = cgroupMountsFromProc(readFileSync('/proc/self/mounts', 'utf8'));

/** Poll until `ok()` holds (events, not the clock, decide; the bound only stops a hung test). */
export async function until(ok: () => boolean | Promise<boolean>, ms = 60_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The harness. */
export async function harness(opts: { socketPath?: string; samples?: number } = {}) {
  const stack = await testStack();
  const socketPath = opts.socketPath ?? stack.docker.socketPath;
  const docker = createDockerClient({ host: `unix://${socketPath}` });
  const tag = randomBytes(3).toString('hex');
  // A cgroup parent of our own with the highest CPU weight: on this shared, busy machine a
  // 0.5-CPU container then gets its whole quota, so the truth it is measured against is 0.5.
  const parent = `/ws-cs-${tag}`;
  const cpuParent = join(mounts.v1.get('cpu') as string, parent);
  mkdirSync(cpuParent, { recursive: true });
  writeFileSync(join(cpuParent, 'cpu.shares'), '262144');
  const registry = new Registry();
  const collector = new Collector({
    discovery: new DockerDiscovery({ docker, mounts, procRoot: '/proc', logger: silentLogger, maxBackoffMs: 1000 }),
    logger: silentLogger,
    samples: opts.samples ?? 120,
    maxContainers: 5000,
    procRoot: '/proc',
  });
  const service = new ContainerStatsService({ collector, intervalMs: 1000, logger: silentLogger, registry });
  const runtime = new Runtime({
    logger: silentLogger,
    registry,
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    shutdownGraceSeconds: 10,
    handleSignals: false,
  });
  await runtime.start([service]);
  const url = runtime.url() as string;
  const made: string[] = [];

  return {
    docker,
    image: stack.docker.image,
    promtool: stack.bin.promtool,
    collector,
    registry,
    url,
    tag,
    parent,
    name: (what: string) => `ws-cs-${what}-${tag}`,
    /** Start a busybox container running `script` with these HostConfig settings (network none). */
    async run(name: string, script: string, host: Docker.HostConfig = {}, labels: Record<string, string> = {}) {
      const c = await docker.createContainer({
        name,
        Image: stack.docker.image,
        Cmd: ['sh', '-c', script],
        Labels: labels,
        HostConfig: { NetworkMode: 'none', CgroupParent: parent, ...host },
      });
      made.push(c.id);
      await c.start();
      const info = await c.inspect();
      return { container: c, id: c.id, pid: info.State.Pid };
    },
    /** Wait until the collector tracks `id` and has at least `n` samples of it. */
    async tracked(id: string, n = 2) {
      await until(() => (collector.containers.get(id)?.ring.size() ?? 0) >= n, 60_000, `samples of ${id}`);
      return collector.containers.get(id) as NonNullable<ReturnType<typeof collector.containers.get>>;
    },
    async metricsText(): Promise<string> {
      return (await fetch(`${url}/metrics`)).text();
    },
    async cleanup() {
      await Promise.all(
        made.map((id) =>
          docker
            .getContainer(id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
      await runtime.stop();
      // runc creates the parent under every hierarchy, the v2 unified mount included.
      for (const c of new Set([...mounts.v1.values(), ...(mounts.v2 ? [mounts.v2] : [])])) {
        const d = join(c, parent);
        for (let i = 0; i < 30 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            await sleep(100);
          }
        }
      }
    },
  };
}

/** Run `ip` inside the network namespace of `pid`. */
export function ipIn(pid: number, ...args: string[]): void {
  execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', ...args]);
}
