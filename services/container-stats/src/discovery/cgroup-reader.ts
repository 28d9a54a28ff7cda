/** A SampleReader over cgroup files and the container's network namespace. */
import {
  type CgroupMounts,
  type CgroupReader,
  NetnsReader,
  openCgroupOfProcess,
  openCgroupPath,
} from '@windsock/cgroups';
import type { ContainerSample, ContainerSpec, SampleReader } from '../model.ts';

/** Reads a container from its cgroup (found through its PID, or given as a path) and its netns. */
export class CgroupSampleReader implements SampleReader {
  private readonly cgroup: CgroupReader;
  private readonly net?: NetnsReader;

  constructor(opts: { mounts: CgroupMounts; procRoot: string; pid?: number; cgroupPath?: string }) {
    if (opts.pid) {
      this.cgroup = openCgroupOfProcess(opts.mounts, opts.pid, opts.procRoot);
      this.net = new NetnsReader(opts.procRoot, opts.pid);
    } else if (opts.cgroupPath) {
      this.cgroup = openCgroupPath(opts.mounts, opts.cgroupPath);
    } else {
      throw new Error('a cgroup reader needs a pid or a cgroup path');
    }
  }

  /** The cgroup path (cAdvisor's `id`). */
  get cgroupPath(): string {
    return this.cgroup.path;
  }

  sample(now: number): ContainerSample {
    const s = this.cgroup.sample();
    return { t: now, ...s, network: this.net?.sample() ?? [] };
  }

  spec(): ContainerSpec {
    return this.cgroup.spec();
  }

  close(): void {
    this.cgroup.close();
    this.net?.close();
  }
}
