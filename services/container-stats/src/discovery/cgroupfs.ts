/**
 * Raw cgroupfs discovery (no runtime): every cgroup folder below the configured prefixes that has
 * processes is a container, named by its path. Rescanned every few seconds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupMounts } from '@windsock/cgroups';
import type { ContainerInfo, SampleReader } from '../model.ts';
import { CgroupSampleReader } from './cgroup-reader.ts';
import type { Discovery, DiscoveryEvents } from './types.ts';

/** Options of {@link CgroupfsDiscovery}. */
export interface CgroupfsDiscoveryOptions {
  mounts: CgroupMounts;
  procRoot: string;
  prefixes: string[];
  rescanMs?: number;
}

/** Discovers containers as cgroup folders. */
export class CgroupfsDiscovery implements Discovery {
  readonly kind = 'cgroupfs' as const;
  private events?: DiscoveryEvents;
  private timer?: NodeJS.Timeout;
  private readonly known = new Set<string>();
  private readonly base: string;
  private readonly version: 1 | 2;

  constructor(private readonly opts: CgroupfsDiscoveryOptions) {
    const v1 = opts.mounts.v1.get('cpuacct');
    if (v1 && opts.mounts.v1.has('memory')) {
      this.base = v1;
      this.version = 1;
    } else if (opts.mounts.v2) {
      this.base = opts.mounts.v2;
      this.version = 2;
    } else {
      throw new Error('no cgroup hierarchy found: mount the host /sys/fs/cgroup and set containerStats.cgroupRoot');
    }
  }

  async start(events: DiscoveryEvents): Promise<void> {
    this.events = events;
    this.scan();
    this.timer = setInterval(() => this.scan(), this.opts.rescanMs ?? 5000);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  openReader(info: ContainerInfo): SampleReader {
    return new CgroupSampleReader({ mounts: this.opts.mounts, procRoot: this.opts.procRoot, cgroupPath: info.key });
  }

  status(): Record<string, unknown> {
    return { cgroupVersion: this.version, base: this.base, containers: this.known.size };
  }

  /** Leaf-most folders with processes below each prefix. */
  scan(): void {
    const found = new Set<string>();
    const walk = (path: string, depth: number) => {
      const dir = join(this.base, path);
      let names: string[];
      try {
        names = readdirSync(dir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
      } catch {
        return;
      }
      if (hasProcesses(dir)) found.add(path);
      if (depth < 4) for (const n of names) walk(`${path}/${n}`, depth + 1);
    };
    for (const p of this.opts.prefixes) if (existsSync(join(this.base, p))) walk(p, 0);
    for (const key of [...this.known]) {
      if (!found.has(key)) {
        this.known.delete(key);
        this.events?.remove(key);
      }
    }
    for (const key of found) {
      if (this.known.has(key)) continue;
      this.known.add(key);
      this.events?.add({ key, id: key, name: key.slice(key.lastIndexOf('/') + 1), image: '', labels: {} });
    }
  }
}

function hasProcesses(dir: string): boolean {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'latin1').trim().length > 0;
  } catch {
    return false;
  }
}
