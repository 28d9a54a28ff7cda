/**
 * The collector: owns one reader and one ring per container and samples them all on each tick
 * (cAdvisor's manager and in-memory cache, without a goroutine per container). A container whose
 * files vanish mid-read is dropped cleanly; a removed container's ring and handles go with it.
 */
import { NodeReader, type NodeSample, StatFileGoneError } from '@windsock/cgroups';
import type { Logger } from '@windsock/core';
import type { Discovery } from './discovery/types.ts';
import type { ContainerInfo, ContainerSample, ContainerSpec, SampleReader } from './model.ts';
import { SampleRing } from './store.ts';

/** One tracked container. */
export interface Tracked {
  info: ContainerInfo;
  reader: SampleReader;
  ring: SampleRing;
  spec: ContainerSpec;
  /** The newest full sample (per-interface and per-device detail for /metrics). */
  last?: ContainerSample;
  /** Unix seconds of the newest sample. */
  lastSeen: number;
}

/** Options of {@link Collector}. */
export interface CollectorOptions {
  discovery: Discovery;
  logger: Logger;
  samples: number;
  maxContainers: number;
  /** The host's /proc for the node's totals; omit to skip them (ECS/Fargate). */
  procRoot?: string;
  /** Re-read limits every this many ticks (docker update changes them). */
  specEveryTicks?: number;
  clock?: () => number;
}

/** The node's samples, as a container ring plus its own fields. */
export interface NodeState {
  ring: SampleRing;
  last?: NodeSample;
  cpuCores: number;
  memoryBytes: number;
}

/** Samples every discovered container on each `tick()`. */
export class Collector {
  readonly containers = new Map<string, Tracked>();
  readonly node?: NodeState;
  private readonly nodeReader?: NodeReader;
  private ticks = 0;
  private dropped = 0;
  private gone = 0;
  private errors = 0;
  private lastTickMs = 0;
  private readonly clock: () => number;

  constructor(private readonly opts: CollectorOptions) {
    this.clock = opts.clock ?? Date.now;
    if (opts.procRoot) {
      this.nodeReader = new NodeReader(opts.procRoot);
      const first = this.nodeReader.sample();
      this.node = {
        ring: new SampleRing(opts.samples),
        cpuCores: this.nodeReader.cpuCores,
        memoryBytes: first.memoryTotalBytes,
      };
    }
  }

  async start(): Promise<void> {
    await this.opts.discovery.start({
      add: (info) => this.add(info),
      remove: (key) => this.remove(key),
      rename: (key, name) => {
        const t = this.containers.get(key);
        if (t) t.info = { ...t.info, name };
      },
    });
  }

  async stop(): Promise<void> {
    await this.opts.discovery.stop();
    for (const key of [...this.containers.keys()]) this.remove(key);
    this.nodeReader?.close();
  }

  /** Track a container (replacing an older entry under the same key). */
  add(info: ContainerInfo): void {
    const existing = this.containers.get(info.key);
    if (existing) {
      existing.info = { ...info, id: existing.info.id };
      return;
    }
    if (this.containers.size >= this.opts.maxContainers) {
      this.dropped++;
      return;
    }
    let reader: SampleReader;
    try {
      reader = this.opts.discovery.openReader(info);
    } catch (err) {
      // It exited between discovery and here: nothing to read.
      this.gone++;
      this.opts.logger.debug(
        { container: info.name, err: (err as Error).message },
        'container gone before its first sample',
      );
      return;
    }
    const path = (reader as { cgroupPath?: string }).cgroupPath;
    const tracked: Tracked = {
      info: path ? { ...info, id: path } : info,
      reader,
      ring: new SampleRing(this.opts.samples),
      spec: safeSpec(reader),
      lastSeen: 0,
    };
    this.containers.set(info.key, tracked);
    // A first sample now, so a one-second rate exists after the next tick.
    this.sampleOne(tracked, this.clock());
  }

  /** Stop tracking: handles closed, ring dropped, series gone from /metrics. */
  remove(key: string): void {
    const t = this.containers.get(key);
    if (!t) return;
    this.containers.delete(key);
    t.reader.close();
  }

  /** Sample the node and every container once. */
  async tick(): Promise<void> {
    const started = performance.now();
    await this.opts.discovery.beforeTick?.();
    const now = this.clock();
    this.ticks++;
    const refreshSpec = this.ticks % (this.opts.specEveryTicks ?? 10) === 0;
    if (this.nodeReader && this.node) {
      const n = this.nodeReader.sample();
      this.node.last = n;
      this.node.ring.push({
        t: now,
        cpuUsageNs: n.cpuUsageNs,
        cpuUserNs: n.cpuUserNs,
        cpuSystemNs: n.cpuSystemNs,
        memoryUsageBytes: n.memoryUsageBytes,
        memoryWorkingSetBytes: n.memoryWorkingSetBytes,
        memoryRssBytes: 0,
        memoryCacheBytes: n.memoryCacheBytes,
        memorySwapBytes: 0,
        memoryMappedFileBytes: 0,
        network: n.network,
        io: [],
      });
    }
    for (const t of this.containers.values()) {
      if (refreshSpec) t.spec = safeSpec(t.reader, t.spec);
      this.sampleOne(t, now);
    }
    this.lastTickMs = performance.now() - started;
  }

  private sampleOne(t: Tracked, now: number): void {
    try {
      const s = t.reader.sample(now);
      t.last = s;
      t.lastSeen = now / 1000;
      t.ring.push(s);
    } catch (err) {
      if (err instanceof StatFileGoneError) {
        // Gone between the runtime's event and our read: drop it now; discovery agrees later.
        this.gone++;
        this.remove(t.info.key);
        return;
      }
      this.errors++;
      this.opts.logger.warn({ container: t.info.name, err: (err as Error).message }, 'container sample failed');
    }
  }

  status(): Record<string, unknown> {
    let ringBytes = 0;
    for (const t of this.containers.values()) ringBytes += t.ring.bytes();
    return {
      containers: this.containers.size,
      ticks: this.ticks,
      lastTickMs: Math.round(this.lastTickMs * 100) / 100,
      ringBytes,
      droppedOverMaxContainers: this.dropped,
      goneMidRead: this.gone,
      sampleErrors: this.errors,
      discovery: this.opts.discovery.status(),
    };
  }
}

function safeSpec(reader: SampleReader, previous?: ContainerSpec): ContainerSpec {
  try {
    return reader.spec();
  } catch {
    return (
      previous ?? {
        cpuQuotaUs: 0,
        cpuPeriodUs: 100_000,
        cpuShares: 1024,
        memoryLimitBytes: null,
        memorySwapLimitBytes: null,
        memoryReservationBytes: null,
        pidsLimit: null,
      }
    );
  }
}
