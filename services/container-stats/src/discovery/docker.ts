/**
 * Docker discovery: list the running containers, then follow the engine's events (start, die,
 * destroy, rename), inspecting each container once. When the engine goes away (restart, socket
 * gone) it retries with backoff and resyncs with a fresh list; samples never call the engine.
 */
import type { Readable } from 'node:stream';
import type { CgroupMounts } from '@windsock/cgroups';
import type { Logger } from '@windsock/core';
import type { DockerClient } from '@windsock/docker';
import type { ContainerInfo, SampleReader } from '../model.ts';
import { CgroupSampleReader } from './cgroup-reader.ts';
import type { Discovery, DiscoveryEvents } from './types.ts';

/** Options of {@link DockerDiscovery}. */
export interface DockerDiscoveryOptions {
  docker: DockerClient;
  mounts: CgroupMounts;
  procRoot: string;
  logger: Logger;
  /** Longest wait between reconnect attempts (ms). */
  maxBackoffMs?: number;
}

/** The fields of `docker inspect` Windsock uses. */
interface Inspected {
  Id: string;
  Name: string;
  Config: { Image: string; Labels?: Record<string, string> | null };
  State: { Running: boolean; Pid: number; StartedAt: string };
}

/** Discovers containers through the Docker engine. */
export class DockerDiscovery implements Discovery {
  readonly kind = 'docker' as const;
  private events?: DiscoveryEvents;
  private stream?: Readable;
  private stopped = false;
  private connected = false;
  private reconnects = 0;
  private lastError?: string;
  private known = new Set<string>();
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = 250;

  constructor(private readonly opts: DockerDiscoveryOptions) {}

  async start(events: DiscoveryEvents): Promise<void> {
    this.events = events;
    await this.connect();
    if (!this.connected) this.scheduleReconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stream?.destroy();
  }

  openReader(info: ContainerInfo): SampleReader {
    return new CgroupSampleReader({
      mounts: this.opts.mounts,
      procRoot: this.opts.procRoot,
      ...(info.pid ? { pid: info.pid } : {}),
    });
  }

  status(): Record<string, unknown> {
    return {
      connected: this.connected,
      reconnects: this.reconnects,
      containers: this.known.size,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Subscribe to events first, then list: a container started in between is seen by one or both. */
  private async connect(): Promise<void> {
    const { docker, logger } = this.opts;
    try {
      const stream = (await docker.getEvents({
        filters: { type: ['container'], event: ['start', 'die', 'destroy', 'rename'] },
      })) as unknown as Readable;
      if (this.stopped) {
        stream.destroy();
        return;
      }
      this.stream = stream;
      let buf = '';
      stream.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) this.onEvent(line);
          nl = buf.indexOf('\n');
        }
      });
      const lost = (why: string) => {
        if (this.stream !== stream) return;
        this.stream = undefined;
        this.connected = false;
        if (this.stopped) return;
        this.lastError = why;
        logger.warn({ reason: why }, 'docker event stream lost: reconnecting');
        this.scheduleReconnect();
      };
      stream.on('end', () => lost('event stream ended (engine stopped or restarted)'));
      stream.on('error', (err: Error) => lost(err.message));
      stream.on('close', () => lost('event stream closed'));
      const list = await docker.listContainers({ all: false });
      const running = new Set(list.map((c) => c.Id));
      // Resync: what was known and is no longer running left while we were disconnected.
      for (const key of [...this.known]) {
        if (!running.has(key)) {
          this.known.delete(key);
          this.events?.remove(key);
        }
      }
      await Promise.all(list.map((c) => this.inspectAndAdd(c.Id)));
      this.connected = true;
      this.backoffMs = 250;
      if (this.reconnects > 0) logger.info({ containers: this.known.size }, 'docker engine reconnected');
    } catch (err) {
      this.connected = false;
      this.lastError = (err as Error).message;
      this.stream?.destroy();
      this.stream = undefined;
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 5000);
    this.retryTimer = setTimeout(async () => {
      this.retryTimer = undefined;
      this.reconnects++;
      await this.connect();
      if (!this.connected) this.scheduleReconnect();
    }, wait);
    this.retryTimer.unref?.();
  }

  private onEvent(line: string): void {
    let e: {
      status?: string;
      Action?: string;
      id?: string;
      Actor?: { ID?: string; Attributes?: Record<string, string> };
    };
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    const action = e.Action ?? e.status;
    const id = e.Actor?.ID ?? e.id;
    if (!id || !action) return;
    if (action === 'start') void this.inspectAndAdd(id);
    else if (action === 'die' || action === 'destroy') {
      if (this.known.delete(id)) this.events?.remove(id);
    } else if (action === 'rename') {
      const name = e.Actor?.Attributes?.name;
      if (name && this.known.has(id)) this.events?.rename(id, name.replace(/^\//, ''));
    }
  }

  private async inspectAndAdd(id: string): Promise<void> {
    let c: Inspected;
    try {
      c = (await this.opts.docker.getContainer(id).inspect()) as unknown as Inspected;
    } catch {
      return; // removed before we looked: nothing to track
    }
    if (!c.State.Running || !c.State.Pid || this.stopped) return;
    const started = Date.parse(c.State.StartedAt);
    const info: ContainerInfo = {
      key: c.Id,
      id: `/docker/${c.Id}`,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      labels: c.Config.Labels ?? {},
      pid: c.State.Pid,
      ...(Number.isFinite(started) ? { startedAt: started / 1000 } : {}),
    };
    this.known.add(c.Id);
    this.events?.add(info);
  }
}
