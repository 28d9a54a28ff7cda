/**
 * Where the cgroup hierarchies are mounted and where a process sits in them. A machine has v1
 * controllers (each its own mount, or joint like `cpu,cpuacct`), a v2 unified mount, or both
 * ("hybrid": v1 controllers plus a v2 mount at `/sys/fs/cgroup/unified`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The v1 controllers Windsock reads. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** Mount points: v1 controller -> directory, and the v2 unified mount. */
export interface CgroupMounts {
  v1: Map<string, string>;
  v2?: string;
}

/**
 * The cgroup mounts listed in `/proc/mounts` text (`cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0`,
 * `cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0`).
 */
export function cgroupMountsFromProc(text: string): CgroupMounts {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const [, mountpoint, fstype, options] = line.split(' ');
    if (!mountpoint || !options) continue;
    const dir = mountpoint.replace(/\\040/g, ' ');
    if (fstype === 'cgroup2') v2 ??= dir;
    else if (fstype === 'cgroup') {
      for (const opt of options.split(',')) if (!v1.has(opt)) v1.set(opt, dir);
    }
  }
  return { v1, ...(v2 ? { v2 } : {}) };
}

/**
 * The cgroup mounts under a root folder, found by looking (for a host's `/sys/fs/cgroup` mounted
 * into a container, e.g. at `/host/sys/fs/cgroup`, where `/proc/mounts` shows the container's own
 * view): `<root>/cgroup.controllers` means v2 at the root; otherwise each `<root>/<a,b>` folder
 * holds v1 controllers `a` and `b`, and `<root>/unified` is the hybrid v2 mount.
 */
export function cgroupMountsUnder(root: string): CgroupMounts {
  if (existsSync(join(root, 'cgroup.controllers'))) return { v1: new Map(), v2: root };
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch (err) {
    throw new Error(
      `cgroup root ${root} cannot be read (${(err as NodeJS.ErrnoException).code}): mount the host's /sys/fs/cgroup there`,
    );
  }
  for (const name of names) {
    const dir = join(root, name);
    try {
      if (!statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    if (name === 'unified' && existsSync(join(dir, 'cgroup.controllers'))) {
      v2 = dir;
      continue;
    }
    for (const c of name.split(',')) if (!v1.has(c) && existsSync(join(dir, 'cgroup.procs'))) v1.set(c, dir);
  }
  return { v1, ...(v2 ? { v2 } : {}) };
}

/** The mounts of this machine: under `root` when given, else from `/proc/self/mounts`. */
export function detectCgroupMounts(root?: string): CgroupMounts {
  if (root) return cgroupMountsUnder(root);
  return cgroupMountsFromProc(readFileSync('/proc/self/mounts', 'utf8'));
}

/** Where one process sits: v1 controller -> path, and its v2 path (`0::/path`). */
export interface ProcessCgroups {
  v1: Map<string, string>;
  v2?: string;
}

/** `/proc/<pid>/cgroup` text: `4:memory:/docker/<id>`, `1:cpu,cpuacct:/x`, `0::/x`. */
export function parseProcCgroup(text: string): ProcessCgroups {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') v2 = path;
    else for (const c of controllers.split(',')) v1.set(c, path);
  }
  return { v1, ...(v2 !== undefined ? { v2 } : {}) };
}

/**
 * Which cgroup version to read a process's numbers from: v1 when its cpuacct and memory
 * controllers are v1 (a hybrid machine's v2 mount has no controllers that matter), else v2.
 */
export function cgroupVersionFor(mounts: CgroupMounts, cg: ProcessCgroups): 1 | 2 {
  if (mounts.v1.has('cpuacct') && mounts.v1.has('memory') && cg.v1.has('memory')) return 1;
  return 2;
}
