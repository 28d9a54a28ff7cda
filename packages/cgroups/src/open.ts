/** Open the right reader for a process or a cgroup path. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CgroupMounts, cgroupVersionFor, parseProcCgroup } from './hierarchy.ts';
import { type CgroupReader, CgroupV1Reader, CgroupV2Reader } from './reader.ts';

/**
 * The reader of the cgroup `pid` is in (`<procRoot>/<pid>/cgroup`): v1 when the machine's cpuacct
 * and memory controllers are v1, else v2. Throws when the process is gone.
 */
export function openCgroupOfProcess(mounts: CgroupMounts, pid: number, procRoot = '/proc'): CgroupReader {
  const cg = parseProcCgroup(readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8'));
  if (cgroupVersionFor(mounts, cg) === 1) return new CgroupV1Reader(mounts, cg.v1);
  if (!mounts.v2 || cg.v2 === undefined) throw new Error(`process ${pid}: no cgroup v2 mount or path`);
  return new CgroupV2Reader(mounts.v2, cg.v2);
}

/** The reader of a cgroup by its path (the same path under every v1 controller, or under the v2 mount). */
export function openCgroupPath(mounts: CgroupMounts, path: string, version?: 1 | 2): CgroupReader {
  const v = version ?? (mounts.v1.has('cpuacct') && mounts.v1.has('memory') ? 1 : 2);
  if (v === 1) return new CgroupV1Reader(mounts, path);
  if (!mounts.v2) throw new Error('no cgroup v2 mount');
  return new CgroupV2Reader(mounts.v2, path);
}
