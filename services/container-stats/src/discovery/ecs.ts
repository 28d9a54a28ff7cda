/**
 * ECS task metadata endpoint v4 discovery, for Fargate where no cgroupfs is reachable: `/task`
 * names the containers (and the task's `ServiceName`, added as the label
 * `com.amazonaws.ecs.service-name`), and `/task/stats` (Docker's stats shape, one entry per
 * DockerId) gives the numbers, fetched once per tick for the whole task.
 */
import type { Logger } from '@windsock/core';
import type { ContainerInfo, ContainerSample, ContainerSpec, SampleReader } from '../model.ts';
import type { Discovery, DiscoveryEvents } from './types.ts';

/** Options of {@link EcsTaskDiscovery}. */
export interface EcsTaskDiscoveryOptions {
  /** `ECS_CONTAINER_METADATA_URI_V4`. */
  metadataUri: string;
  logger: Logger;
  /** How often `/task` is re-read for new or stopped containers. */
  taskRefreshMs?: number;
  timeoutMs?: number;
}

interface TaskContainer {
  DockerId: string;
  Name: string;
  DockerName?: string;
  Image: string;
  Labels?: Record<string, string>;
  KnownStatus?: string;
  Limits?: { CPU?: number; Memory?: number };
  StartedAt?: string;
  Type?: string;
}

/** The `/task` document (fields Windsock uses). */
export interface TaskMetadata {
  Cluster: string;
  TaskARN: string;
  Family: string;
  Revision: string;
  ServiceName?: string;
  LaunchType?: string;
  Limits?: { CPU?: number; Memory?: number };
  Containers: TaskContainer[];
}

/** Docker's stats JSON as `/task/stats` returns it per container (null or {} when not running). */
export interface DockerStats {
  read: string;
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; usage_in_usermode?: number; usage_in_kernelmode?: number };
    throttling_data?: { periods?: number; throttled_periods?: number; throttled_time?: number };
  };
  memory_stats?: {
    usage?: number;
    max_usage?: number;
    limit?: number;
    failcnt?: number;
    stats?: Record<string, number>;
  };
  pids_stats?: { current?: number; limit?: number };
  networks?: Record<
    string,
    {
      rx_bytes: number;
      rx_packets: number;
      rx_errors: number;
      rx_dropped: number;
      tx_bytes: number;
      tx_packets: number;
      tx_errors: number;
      tx_dropped: number;
    }
  >;
  blkio_stats?: {
    io_service_bytes_recursive?: Array<{ major: number; minor: number; op: string; value: number }> | null;
  };
}

const MIB = 1024 * 1024;

/** A container sample from Docker's stats JSON (v1 and v2 key sets; blkio ops in any case). */
export function sampleFromDockerStats(s: DockerStats, fallbackT: number): ContainerSample {
  const cpu = s.cpu_stats?.cpu_usage ?? {};
  const thr = s.cpu_stats?.throttling_data;
  const mem = s.memory_stats ?? {};
  const st = mem.stats ?? {};
  const usage = mem.usage ?? 0;
  const inactiveFile = st.total_inactive_file ?? st.inactive_file ?? 0;
  const io = new Map<string, { device: string; readBytes: number; writeBytes: number }>();
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const device = `${e.major}:${e.minor}`;
    let d = io.get(device);
    if (!d) {
      d = { device, readBytes: 0, writeBytes: 0 };
      io.set(device, d);
    }
    const op = e.op.toLowerCase();
    if (op === 'read') d.readBytes = e.value;
    else if (op === 'write') d.writeBytes = e.value;
  }
  const t = Date.parse(s.read);
  return {
    t: Number.isFinite(t) && t > 0 ? t : fallbackT,
    cpuUsageNs: cpu.total_usage ?? 0,
    cpuUserNs: cpu.usage_in_usermode ?? 0,
    cpuSystemNs: cpu.usage_in_kernelmode ?? 0,
    ...(thr
      ? {
          cfsPeriods: thr.periods ?? 0,
          cfsThrottledPeriods: thr.throttled_periods ?? 0,
          cfsThrottledNs: thr.throttled_time ?? 0,
        }
      : {}),
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: Math.max(0, usage - inactiveFile),
    memoryRssBytes: st.total_rss ?? st.rss ?? st.anon ?? 0,
    memoryCacheBytes: st.total_cache ?? st.cache ?? st.file ?? 0,
    memorySwapBytes: 0,
    memoryMappedFileBytes: st.total_mapped_file ?? st.mapped_file ?? st.file_mapped ?? 0,
    ...(mem.max_usage !== undefined ? { memoryMaxUsageBytes: mem.max_usage } : {}),
    ...(mem.failcnt !== undefined ? { memoryFailcnt: mem.failcnt } : {}),
    ...(s.pids_stats?.current !== undefined ? { pids: s.pids_stats.current } : {}),
    network: Object.entries(s.networks ?? {}).map(([name, n]) => ({
      name,
      rxBytes: n.rx_bytes,
      rxPackets: n.rx_packets,
      rxErrors: n.rx_errors,
      rxDropped: n.rx_dropped,
      txBytes: n.tx_bytes,
      txPackets: n.tx_packets,
      txErrors: n.tx_errors,
      txDropped: n.tx_dropped,
    })),
    io: [...io.values()],
  };
}

/**
 * A container's limits from the task metadata: memory = the container's `Limits.Memory`, else the
 * task's (MiB); shares = the container's CPU units; the CPU cap (as a CFS quota) = the task's
 * `Limits.CPU` in vCPUs, which Fargate enforces for the whole task.
 */
export function specFromTask(task: TaskMetadata, c: TaskContainer): ContainerSpec {
  const memMiB = c.Limits?.Memory ?? task.Limits?.Memory;
  const vcpu = task.Limits?.CPU;
  return {
    cpuQuotaUs: vcpu ? Math.round(vcpu * 100_000) : 0,
    cpuPeriodUs: 100_000,
    cpuShares: c.Limits?.CPU ?? 0,
    memoryLimitBytes: memMiB ? memMiB * MIB : null,
    memorySwapLimitBytes: null,
    memoryReservationBytes: null,
    pidsLimit: null,
  };
}

/** The task's running containers as discovery reports them. */
export function containersOfTask(task: TaskMetadata): ContainerInfo[] {
  const taskId = task.TaskARN.slice(task.TaskARN.lastIndexOf('/') + 1);
  return task.Containers.filter((c) => c.KnownStatus === 'RUNNING' && c.Type !== 'CNI_PAUSE').map((c) => {
    const started = c.StartedAt ? Date.parse(c.StartedAt) : Number.NaN;
    const labels = { ...(c.Labels ?? {}) };
    if (task.ServiceName) labels['com.amazonaws.ecs.service-name'] = task.ServiceName;
    return {
      key: c.DockerId,
      id: `/ecs/${taskId}/${c.DockerId}`,
      name: c.DockerName ?? c.Name,
      image: c.Image,
      labels,
      ...(Number.isFinite(started) ? { startedAt: started / 1000 } : {}),
    };
  });
}

/** Discovers a task's containers through the metadata endpoint. */
export class EcsTaskDiscovery implements Discovery {
  readonly kind = 'ecs' as const;
  private events?: DiscoveryEvents;
  private task?: TaskMetadata;
  private stats: Record<string, DockerStats | null | Record<string, never>> = {};
  private readonly known = new Set<string>();
  private lastTaskRead = 0;
  private lastError?: string;
  private up = false;

  constructor(private readonly opts: EcsTaskDiscoveryOptions) {}

  async start(events: DiscoveryEvents): Promise<void> {
    this.events = events;
    // Stats first: each container gets its first sample when it is added.
    await this.refreshStats();
    await this.refreshTask();
  }

  async stop(): Promise<void> {}

  async beforeTick(): Promise<void> {
    if (Date.now() - this.lastTaskRead >= (this.opts.taskRefreshMs ?? 30_000)) await this.refreshTask();
    await this.refreshStats();
  }

  openReader(info: ContainerInfo): SampleReader {
    return {
      sample: (now) => {
        const s = this.stats[info.key];
        if (!s || !('read' in s)) throw new Error(`no stats for ${info.name} yet`);
        return sampleFromDockerStats(s as DockerStats, now);
      },
      spec: () => {
        const c = this.task?.Containers.find((x) => x.DockerId === info.key);
        if (!this.task || !c) throw new Error('not in the task any more');
        return specFromTask(this.task, c);
      },
      close: () => undefined,
    };
  }

  status(): Record<string, unknown> {
    return {
      connected: this.up,
      task: this.task?.TaskARN,
      service: this.task?.ServiceName,
      containers: this.known.size,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.opts.metadataUri.replace(/\/$/, '')}${path}`, {
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 2000),
    });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  private async refreshTask(): Promise<void> {
    try {
      this.task = await this.get<TaskMetadata>('/task');
      this.lastTaskRead = Date.now();
      this.up = true;
      const now = new Set<string>();
      for (const info of containersOfTask(this.task)) {
        now.add(info.key);
        if (!this.known.has(info.key)) {
          this.known.add(info.key);
          this.events?.add(info);
        }
      }
      for (const key of [...this.known]) {
        if (!now.has(key)) {
          this.known.delete(key);
          this.events?.remove(key);
        }
      }
    } catch (err) {
      this.up = false;
      this.lastError = (err as Error).message;
      this.opts.logger.warn({ err: this.lastError }, 'task metadata endpoint unreachable');
    }
  }

  private async refreshStats(): Promise<void> {
    try {
      this.stats = await this.get('/task/stats');
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }
}
