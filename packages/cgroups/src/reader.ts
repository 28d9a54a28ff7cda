/**
 * CgroupV1Reader and CgroupV2Reader: the numbers of one cgroup, the way cAdvisor (through
 * runc's libcontainer) makes them, read from handles kept open between samples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatFile } from './file.ts';
import type { CgroupMounts } from './hierarchy.ts';
import {
  type DeviceIo,
  parseBlkioServiceBytes,
  parseFlatKeyed,
  parseIoStat,
  parseLimit,
  parseNumber,
} from './parse.ts';

/** One sample of a cgroup's counters and gauges (raw units: ns, bytes, counts). */
export interface CgroupSample {
  /** Cumulative CPU time (ns): total, user, system. */
  cpuUsageNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  /** CFS bandwidth counters; present when the cpu controller is (v2: when it is enabled). */
  cfsPeriods?: number;
  cfsThrottledPeriods?: number;
  cfsThrottledNs?: number;
  memoryUsageBytes: number;
  /** usage - inactive_file (v1: total_inactive_file), never below 0: what the OOM killer weighs. */
  memoryWorkingSetBytes: number;
  memoryRssBytes: number;
  memoryCacheBytes: number;
  memorySwapBytes: number;
  memoryMappedFileBytes: number;
  memoryMaxUsageBytes?: number;
  memoryFailcnt?: number;
  /** Processes killed by the OOM killer in this cgroup (v1 `memory.oom_control`, v2 `memory.events` oom_kill). */
  oomKills?: number;
  /** Tasks (threads) in the cgroup (`pids.current`). */
  pids?: number;
  io: DeviceIo[];
}

/** A cgroup's limits; cAdvisor calls these the container spec. */
export interface CgroupSpec {
  /** CFS quota in µs per period; 0 when there is none. */
  cpuQuotaUs: number;
  cpuPeriodUs: number;
  /** v1 cpu.shares; on v2 converted from cpu.weight as runc does. */
  cpuShares: number;
  /** null = unlimited. */
  memoryLimitBytes: number | null;
  memorySwapLimitBytes: number | null;
  memoryReservationBytes: number | null;
  pidsLimit: number | null;
}

/** Reads one cgroup. */
export interface CgroupReader {
  readonly version: 1 | 2;
  /** The cgroup path, e.g. `/docker/<id>`: cAdvisor's `id` label. */
  readonly path: string;
  /** Read the counters now. Throws StatFileGoneError when the cgroup is gone. */
  sample(): CgroupSample;
  /** Read the limits now (files opened for this read only: limits change rarely). */
  spec(): CgroupSpec;
  /** Close every handle. */
  close(): void;
}

/** Clock ticks per second of `cpuacct.stat` (USER_HZ, 100 on every Linux ABI Windsock runs on). */
export const USER_HZ = 100;

function readOnce(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** runc's inverse of its shares -> weight mapping (cgroup v2 cpu.weight 1..10000 -> shares 2..262144). */
export function cpuWeightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

/**
 * A v1 cgroup: `paths` maps each controller to the cgroup's path under that controller's mount
 * (`/proc/<pid>/cgroup` gives them; they are usually the same path).
 */
export class CgroupV1Reader implements CgroupReader {
  readonly version = 1 as const;
  readonly path: string;
  private readonly dirs: Partial<Record<string, string>> = {};
  private readonly usage: StatFile;
  private readonly cpuacctStat: StatFile;
  private readonly cpuStat?: StatFile;
  private readonly memUsage: StatFile;
  private readonly memStat: StatFile;
  private readonly memMax: StatFile;
  private readonly memFailcnt: StatFile;
  private readonly memSwUsage: StatFile;
  private readonly oomControl: StatFile;
  private readonly blkio?: StatFile;
  private readonly pids?: StatFile;
  private readonly kv = new Map<string, number>();

  constructor(mounts: CgroupMounts, paths: Map<string, string> | string) {
    const pathOf = (c: string) => (typeof paths === 'string' ? paths : (paths.get(c) ?? paths.get('cpuacct') ?? '/'));
    this.path = pathOf('cpuacct');
    for (const c of ['cpu', 'cpuacct', 'memory', 'blkio', 'pids']) {
      const m = mounts.v1.get(c);
      if (m) this.dirs[c] = join(m, pathOf(c));
    }
    const cpuacct = this.dirs.cpuacct;
    const memory = this.dirs.memory;
    if (!cpuacct || !memory) throw new Error('cgroup v1 needs the cpuacct and memory controllers mounted');
    this.usage = new StatFile(join(cpuacct, 'cpuacct.usage'));
    this.cpuacctStat = new StatFile(join(cpuacct, 'cpuacct.stat'));
    if (this.dirs.cpu) this.cpuStat = new StatFile(join(this.dirs.cpu, 'cpu.stat'));
    this.memUsage = new StatFile(join(memory, 'memory.usage_in_bytes'));
    this.memStat = new StatFile(join(memory, 'memory.stat'));
    this.memMax = new StatFile(join(memory, 'memory.max_usage_in_bytes'));
    this.memFailcnt = new StatFile(join(memory, 'memory.failcnt'));
    this.memSwUsage = new StatFile(join(memory, 'memory.memsw.usage_in_bytes'));
    this.oomControl = new StatFile(join(memory, 'memory.oom_control'));
    if (this.dirs.blkio) this.blkio = new StatFile(join(this.dirs.blkio, 'blkio.throttle.io_service_bytes'));
    if (this.dirs.pids) this.pids = new StatFile(join(this.dirs.pids, 'pids.current'));
  }

  sample(): CgroupSample {
    const kv = this.kv;
    const usageText = this.usage.read();
    if (usageText === undefined) throw new Error(`${this.usage.path} does not exist: not a cgroup v1 cpuacct folder`);
    const cpuUsageNs = Number(usageText.trim());
    parseFlatKeyed(this.cpuacctStat.read() ?? '', kv);
    const cpuUserNs = ((kv.get('user') ?? 0) * 1e9) / USER_HZ;
    const cpuSystemNs = ((kv.get('system') ?? 0) * 1e9) / USER_HZ;
    const s: CgroupSample = {
      cpuUsageNs,
      cpuUserNs,
      cpuSystemNs,
      memoryUsageBytes: 0,
      memoryWorkingSetBytes: 0,
      memoryRssBytes: 0,
      memoryCacheBytes: 0,
      memorySwapBytes: 0,
      memoryMappedFileBytes: 0,
      io: [],
    };
    const cpuStat = this.cpuStat?.read();
    if (cpuStat !== undefined) {
      parseFlatKeyed(cpuStat, kv);
      s.cfsPeriods = kv.get('nr_periods') ?? 0;
      s.cfsThrottledPeriods = kv.get('nr_throttled') ?? 0;
      s.cfsThrottledNs = kv.get('throttled_time') ?? 0;
    }
    const usage = parseNumber(this.memUsage.read()) ?? 0;
    parseFlatKeyed(this.memStat.read() ?? '', kv);
    s.memoryUsageBytes = usage;
    s.memoryWorkingSetBytes = Math.max(0, usage - (kv.get('total_inactive_file') ?? 0));
    s.memoryRssBytes = kv.get('total_rss') ?? 0;
    s.memoryCacheBytes = kv.get('total_cache') ?? 0;
    s.memoryMappedFileBytes = kv.get('total_mapped_file') ?? 0;
    const memsw = parseNumber(this.memSwUsage.read());
    s.memorySwapBytes = memsw !== undefined ? Math.max(0, memsw - usage) : (kv.get('total_swap') ?? 0);
    const max = parseNumber(this.memMax.read());
    if (max !== undefined) s.memoryMaxUsageBytes = max;
    const failcnt = parseNumber(this.memFailcnt.read());
    if (failcnt !== undefined) s.memoryFailcnt = failcnt;
    const oom = this.oomControl.read();
    if (oom !== undefined) {
      parseFlatKeyed(oom, kv);
      const kills = kv.get('oom_kill');
      if (kills !== undefined) s.oomKills = kills;
    }
    const blkio = this.blkio?.read();
    if (blkio !== undefined) s.io = parseBlkioServiceBytes(blkio);
    const pids = parseNumber(this.pids?.read());
    if (pids !== undefined) s.pids = pids;
    return s;
  }

  spec(): CgroupSpec {
    const cpu = this.dirs.cpu;
    const memory = this.dirs.memory as string;
    const quota = cpu ? parseNumber(readOnce(join(cpu, 'cpu.cfs_quota_us'))) : undefined;
    const limit = parseLimit(readOnce(join(memory, 'memory.limit_in_bytes'))) ?? null;
    const memsw = parseLimit(readOnce(join(memory, 'memory.memsw.limit_in_bytes'))) ?? null;
    return {
      cpuQuotaUs: quota !== undefined && quota > 0 ? quota : 0,
      cpuPeriodUs: (cpu ? parseNumber(readOnce(join(cpu, 'cpu.cfs_period_us'))) : undefined) ?? 100_000,
      cpuShares: (cpu ? parseNumber(readOnce(join(cpu, 'cpu.shares'))) : undefined) ?? 1024,
      memoryLimitBytes: limit,
      memorySwapLimitBytes: memsw,
      memoryReservationBytes: parseLimit(readOnce(join(memory, 'memory.soft_limit_in_bytes'))) ?? null,
      pidsLimit: this.dirs.pids ? (parseLimit(readOnce(join(this.dirs.pids, 'pids.max'))) ?? null) : null,
    };
  }

  close(): void {
    for (const f of [
      this.usage,
      this.cpuacctStat,
      this.cpuStat,
      this.memUsage,
      this.memStat,
      this.memMax,
      this.memFailcnt,
      this.memSwUsage,
      this.oomControl,
      this.blkio,
      this.pids,
    ]) {
      f?.close();
    }
  }
}

/** A v2 cgroup: one folder under the unified mount with every controller's files. */
export class CgroupV2Reader implements CgroupReader {
  readonly version = 2 as const;
  readonly dir: string;
  private readonly cpuStat: StatFile;
  private readonly memCurrent: StatFile;
  private readonly memStat: StatFile;
  private readonly memPeak: StatFile;
  private readonly memEvents: StatFile;
  private readonly swapCurrent: StatFile;
  private readonly ioStat: StatFile;
  private readonly pids: StatFile;
  private readonly kv = new Map<string, number>();

  constructor(
    mountpoint: string,
    readonly path: string,
  ) {
    this.dir = join(mountpoint, path);
    this.cpuStat = new StatFile(join(this.dir, 'cpu.stat'));
    this.memCurrent = new StatFile(join(this.dir, 'memory.current'));
    this.memStat = new StatFile(join(this.dir, 'memory.stat'));
    this.memPeak = new StatFile(join(this.dir, 'memory.peak'));
    this.memEvents = new StatFile(join(this.dir, 'memory.events'));
    this.swapCurrent = new StatFile(join(this.dir, 'memory.swap.current'));
    this.ioStat = new StatFile(join(this.dir, 'io.stat'));
    this.pids = new StatFile(join(this.dir, 'pids.current'));
  }

  sample(): CgroupSample {
    const kv = this.kv;
    const cpu = this.cpuStat.read();
    if (cpu === undefined) throw new Error(`${this.cpuStat.path} does not exist: not a cgroup v2 folder`);
    parseFlatKeyed(cpu, kv);
    // "All time durations are in microseconds" (cgroup-v2.rst).
    const s: CgroupSample = {
      cpuUsageNs: (kv.get('usage_usec') ?? 0) * 1000,
      cpuUserNs: (kv.get('user_usec') ?? 0) * 1000,
      cpuSystemNs: (kv.get('system_usec') ?? 0) * 1000,
      memoryUsageBytes: 0,
      memoryWorkingSetBytes: 0,
      memoryRssBytes: 0,
      memoryCacheBytes: 0,
      memorySwapBytes: 0,
      memoryMappedFileBytes: 0,
      io: [],
    };
    // The CFS keys appear only while the cpu controller is enabled for this cgroup.
    const periods = kv.get('nr_periods');
    if (periods !== undefined) {
      s.cfsPeriods = periods;
      s.cfsThrottledPeriods = kv.get('nr_throttled') ?? 0;
      s.cfsThrottledNs = (kv.get('throttled_usec') ?? 0) * 1000;
    }
    const usage = parseNumber(this.memCurrent.read());
    if (usage !== undefined) {
      parseFlatKeyed(this.memStat.read() ?? '', kv);
      s.memoryUsageBytes = usage;
      s.memoryWorkingSetBytes = Math.max(0, usage - (kv.get('inactive_file') ?? 0));
      s.memoryRssBytes = kv.get('anon') ?? 0;
      s.memoryCacheBytes = kv.get('file') ?? 0;
      s.memoryMappedFileBytes = kv.get('file_mapped') ?? 0;
      s.memorySwapBytes = parseNumber(this.swapCurrent.read()) ?? 0;
      const peak = parseNumber(this.memPeak.read());
      if (peak !== undefined) s.memoryMaxUsageBytes = peak;
      const events = this.memEvents.read();
      if (events !== undefined) {
        parseFlatKeyed(events, kv);
        s.oomKills = kv.get('oom_kill') ?? 0;
        // v2 has no failcnt; the nearest is how often the limit was hit.
        s.memoryFailcnt = kv.get('max') ?? 0;
      }
    }
    const io = this.ioStat.read();
    if (io !== undefined) s.io = parseIoStat(io);
    const pids = parseNumber(this.pids.read());
    if (pids !== undefined) s.pids = pids;
    return s;
  }

  spec(): CgroupSpec {
    const cpuMax = readOnce(join(this.dir, 'cpu.max'))?.trim().split(' ');
    const quota = cpuMax && cpuMax[0] !== 'max' ? Number(cpuMax[0]) : 0;
    const period = cpuMax?.[1] ? Number(cpuMax[1]) : 100_000;
    const weight = parseNumber(readOnce(join(this.dir, 'cpu.weight')));
    const low = parseLimit(readOnce(join(this.dir, 'memory.low')));
    return {
      cpuQuotaUs: Number.isFinite(quota) ? quota : 0,
      cpuPeriodUs: Number.isFinite(period) ? period : 100_000,
      cpuShares: weight !== undefined ? cpuWeightToShares(weight) : 1024,
      memoryLimitBytes: parseLimit(readOnce(join(this.dir, 'memory.max'))) ?? null,
      memorySwapLimitBytes: parseLimit(readOnce(join(this.dir, 'memory.swap.max'))) ?? null,
      memoryReservationBytes: low === 0 ? null : (low ?? null),
      pidsLimit: parseLimit(readOnce(join(this.dir, 'pids.max'))) ?? null,
    };
  }

  close(): void {
    for (const f of [
      this.cpuStat,
      this.memCurrent,
      this.memStat,
      this.memPeak,
      this.memEvents,
      this.swapCurrent,
      this.ioStat,
      this.pids,
    ]) {
      f.close();
    }
  }
}
