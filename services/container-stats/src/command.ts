/** `windsock container-stats`: the daemon, or `--once` (one sample of every container after a 1 s CPU delta). */
import type { Writable } from 'node:stream';
import { detectCgroupMounts } from '@windsock/cgroups';
import { type CommandContext, ConfigError, type Logger, UserError, type WindsockCommand } from '@windsock/core';
import { createDockerClient } from '@windsock/docker';
import { createSinks, JsonSnapshotSink, type MetricSink, Metrics } from '@windsock/metrics';
import { CloudWatchAggregates } from './aggregates.ts';
import { Collector } from './collector.ts';
import { type ContainerStatsConfig, containerStatsSection } from './config.ts';
import { CgroupfsDiscovery } from './discovery/cgroupfs.ts';
import { DockerDiscovery } from './discovery/docker.ts';
import { EcsTaskDiscovery } from './discovery/ecs.ts';
import type { Discovery } from './discovery/types.ts';
import { ContainerStatsService } from './service.ts';
import { toRates } from './store.ts';

type Ctx = CommandContext<{ containerStats: ContainerStatsConfig }>;

/** The metric-publishing settings this command reads (the `metrics` and `aws` sections). */
interface PublishConfig {
  metrics?: { namespace?: string; sinks?: string[]; maxBufferedDatums?: number; emfPath?: string };
  aws?: { region?: string; endpoint?: string };
}

/** The discovery the config asks for. */
export function buildDiscovery(cfg: ContainerStatsConfig, logger: Logger, env = process.env): Discovery {
  if (cfg.source === 'ecs') {
    const uri = cfg.metadataUri ?? env.ECS_CONTAINER_METADATA_URI_V4;
    if (!uri) {
      throw new ConfigError(
        'containerStats.source=ecs needs the task metadata endpoint: ECS sets ECS_CONTAINER_METADATA_URI_V4 in the container, or set containerStats.metadataUri',
      );
    }
    return new EcsTaskDiscovery({ metadataUri: uri, logger });
  }
  const mounts = detectCgroupMounts(cfg.cgroupRoot);
  if (mounts.v1.size === 0 && !mounts.v2) {
    throw new ConfigError(
      `no cgroup hierarchy found${cfg.cgroupRoot ? ` under ${cfg.cgroupRoot}` : ''}: mount the host's /sys/fs/cgroup read-only and set containerStats.cgroupRoot`,
    );
  }
  if (cfg.source === 'cgroupfs') {
    return new CgroupfsDiscovery({ mounts, procRoot: cfg.procRoot, prefixes: cfg.cgroupPrefixes });
  }
  return new DockerDiscovery({
    docker: createDockerClient({ host: cfg.dockerHost }),
    mounts,
    procRoot: cfg.procRoot,
    logger,
  });
}

/** The collector for a config (node totals from procRoot unless on ECS/Fargate). */
export function buildCollector(cfg: ContainerStatsConfig, logger: Logger, discovery = buildDiscovery(cfg, logger)) {
  return new Collector({
    discovery,
    logger,
    samples: cfg.samples,
    maxContainers: cfg.maxContainers,
    ...(cfg.source !== 'ecs' ? { procRoot: cfg.procRoot } : {}),
  });
}

/** The `--once` snapshot: one datum per container and statistic. */
export async function onceSnapshot(collector: Collector, sink: MetricSink, cluster: string): Promise<void> {
  const metrics = new Metrics({ namespace: 'Windsock', sinks: [sink], defaultDimensions: { Cluster: cluster } });
  for (const t of collector.containers.values()) {
    const rows = t.ring.since(0);
    const rate = toRates(rows.slice(-2))[0];
    const s = t.last;
    if (!s) continue;
    const d = { ContainerName: t.info.name, ContainerId: t.info.key.slice(0, 12), Image: t.info.image };
    const g = (name: string, value: number, unit: 'Count' | 'Bytes' | 'Percent' | 'None' = 'Count') =>
      metrics.gauge(name, d, unit).set(value);
    if (rate) g('CpuCores', rate.cpuCores);
    if (t.spec.cpuQuotaUs) {
      const limit = t.spec.cpuQuotaUs / t.spec.cpuPeriodUs;
      g('CpuLimitCores', limit);
      if (rate) g('CpuPercentOfLimit', (100 * rate.cpuCores) / limit, 'Percent');
      g('CpuThrottledPeriods', s.cfsThrottledPeriods ?? 0);
    }
    g('MemoryUsageBytes', s.memoryUsageBytes, 'Bytes');
    g('MemoryWorkingSetBytes', s.memoryWorkingSetBytes, 'Bytes');
    g('MemoryRssBytes', s.memoryRssBytes, 'Bytes');
    g('MemoryCacheBytes', s.memoryCacheBytes, 'Bytes');
    g('MemoryLimitBytes', t.spec.memoryLimitBytes ?? 0, 'Bytes');
    g('OomKills', s.oomKills ?? 0);
    if (s.pids !== undefined) g('Pids', s.pids);
    g(
      'NetworkReceiveBytes',
      s.network.reduce((a, i) => a + i.rxBytes, 0),
      'Bytes',
    );
    g(
      'NetworkTransmitBytes',
      s.network.reduce((a, i) => a + i.txBytes, 0),
      'Bytes',
    );
    g(
      'IoReadBytes',
      s.io.reduce((a, i) => a + i.readBytes, 0),
      'Bytes',
    );
    g(
      'IoWriteBytes',
      s.io.reduce((a, i) => a + i.writeBytes, 0),
      'Bytes',
    );
  }
  await metrics.close();
}

async function runOnce(ctx: Ctx): Promise<number> {
  const format = String(ctx.options.format ?? 'text');
  if (format !== 'json' && format !== 'text') throw new ConfigError(`--format must be json or text, got "${format}"`);
  const collector = buildCollector(ctx.config.containerStats, ctx.logger);
  await collector.start();
  try {
    // Every container got its first sample when found; the second, 1 s later, gives the CPU rate.
    await new Promise((r) => setTimeout(r, 1000));
    await collector.tick();
    if (format === 'json') {
      await onceSnapshot(collector, new JsonSnapshotSink({ stream: ctx.stdout as Writable }), ctx.config.cluster);
    } else {
      const lines = [...collector.containers.values()].map((t) => {
        const r = toRates(t.ring.since(0).slice(-2))[0];
        const lim = t.spec.cpuQuotaUs ? `/${(t.spec.cpuQuotaUs / t.spec.cpuPeriodUs).toFixed(2)}` : '';
        const mem = t.spec.memoryLimitBytes ? `/${(t.spec.memoryLimitBytes / 2 ** 20).toFixed(0)}` : '';
        return `${t.info.name}\tcpu ${(r?.cpuCores ?? 0).toFixed(3)}${lim} cores\tmem ${((t.last?.memoryWorkingSetBytes ?? 0) / 2 ** 20).toFixed(1)}${mem} MiB`;
      });
      lines.sort();
      ctx.stdout.write(`# container stats (${collector.containers.size} containers)\n${lines.join('\n')}\n`);
    }
    return 0;
  } finally {
    await collector.stop();
  }
}

/** The daemon: collector, sampling job, /metrics, page, API, optional CloudWatch aggregates. */
export function buildService(ctx: Pick<Ctx, 'config' | 'logger' | 'registry'>): ContainerStatsService {
  const cfg = ctx.config.containerStats;
  const collector = buildCollector(cfg, ctx.logger);
  let aggregates: CloudWatchAggregates | undefined;
  if (cfg.cloudwatchAggregates) {
    const pub = ctx.config as unknown as PublishConfig;
    // cAdvisor's families are served from the registry directly; the sinks get only the aggregates.
    const sinks = createSinks({
      sinks: (pub.metrics?.sinks ?? []).filter((s) => s !== 'prometheus'),
      logger: ctx.logger,
      registry: ctx.registry,
      cloudwatch: {
        ...(pub.aws?.region ? { region: pub.aws.region } : {}),
        ...(pub.aws?.endpoint ? { endpoint: pub.aws.endpoint } : {}),
        ...(pub.metrics?.maxBufferedDatums ? { maxBufferedDatums: pub.metrics.maxBufferedDatums } : {}),
      },
      emf: { ...(pub.metrics?.emfPath && pub.metrics.emfPath !== '-' ? { path: pub.metrics.emfPath } : {}) },
    });
    if (sinks.length === 0) {
      ctx.logger.warn('containerStats.cloudwatchAggregates is on but metrics.sinks has no cloudwatch or emf sink');
    }
    aggregates = new CloudWatchAggregates(
      new Metrics({
        namespace: pub.metrics?.namespace ?? 'Windsock',
        sinks,
        defaultDimensions: { Cluster: ctx.config.cluster },
        logger: ctx.logger,
      }),
    );
  }
  return new ContainerStatsService({
    collector,
    intervalMs: cfg.intervalSeconds * 1000,
    logger: ctx.logger,
    registry: ctx.registry,
    ...(aggregates ? { aggregates } : {}),
  });
}

/** `windsock container-stats`. */
export const containerStatsCommand: WindsockCommand = {
  name: 'container-stats',
  summary: 'cAdvisor-compatible per-container CPU, memory, network and IO at 1 s, with a live page',
  configSection: containerStatsSection,
  options: [
    {
      flags: '--source <source>',
      description: 'docker, ecs or cgroupfs',
      configKey: 'containerStats.source',
    },
    {
      flags: '--docker-host <host>',
      description: 'Docker engine socket or URL',
      configKey: 'containerStats.dockerHost',
    },
    {
      flags: '--cgroup-root <dir>',
      description: "the host's /sys/fs/cgroup as mounted here",
      configKey: 'containerStats.cgroupRoot',
    },
    {
      flags: '--proc-root <dir>',
      description: "the host's /proc as mounted here",
      configKey: 'containerStats.procRoot',
    },
    {
      flags: '--interval <seconds>',
      description: 'seconds between samples',
      configKey: 'containerStats.intervalSeconds',
      parse: 'number',
    },
    { flags: '--once', description: 'sample every container twice, 1 s apart, print and exit' },
    { flags: '--format <format>', description: 'with --once: text or json', defaultValue: 'text' },
  ],
  run: async (rawCtx) => {
    const ctx = rawCtx as unknown as Ctx;
    if (ctx.options.once) return runOnce(ctx);
    if (ctx.options.format !== undefined && ctx.options.format !== 'text') {
      throw new UserError('--format only applies to --once', 2);
    }
    return ctx.runServices([buildService(ctx)]);
  },
};
