/** The node's own totals, from /proc: CPU time, memory, and the host's network interfaces. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { StatFile } from './file.ts';
import { type InterfaceCounters, isIgnoredInterface, parseNetDev } from './parse.ts';
import { USER_HZ } from './reader.ts';

/** One sample of the node. */
export interface NodeSample {
  /** CPU time spent not idle, all cores (ns): user + nice + system + irq + softirq + steal. */
  cpuUsageNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  memoryTotalBytes: number;
  /** MemTotal - MemFree. */
  memoryUsageBytes: number;
  /** usage - Inactive(file), as cAdvisor does for the root cgroup. */
  memoryWorkingSetBytes: number;
  memoryCacheBytes: number;
  network: InterfaceCounters[];
}

/** Reads the node's totals from `procRoot` (the host's /proc, e.g. mounted at /host/proc). */
export class NodeReader {
  private readonly stat: StatFile;
  private readonly meminfo: StatFile;
  private readonly netdev: StatFile;
  /** Logical CPUs (`machine_cpu_cores`). */
  readonly cpuCores: number;

  constructor(readonly procRoot = '/proc') {
    this.stat = new StatFile(join(procRoot, 'stat'));
    this.meminfo = new StatFile(join(procRoot, 'meminfo'));
    this.netdev = new StatFile(join(procRoot, '1', 'net', 'dev'));
    this.cpuCores = countCpus(procRoot);
  }

  sample(): NodeSample {
    const stat = this.stat.read() ?? '';
    const line = stat.slice(0, stat.indexOf('\n'));
    const f = line.split(/\s+/).slice(1).map(Number);
    const tick = 1e9 / USER_HZ;
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    const mem = new Map<string, number>();
    for (const l of (this.meminfo.read() ?? '').split('\n')) {
      const colon = l.indexOf(':');
      if (colon > 0) mem.set(l.slice(0, colon), Number.parseInt(l.slice(colon + 1), 10) * 1024);
    }
    const total = mem.get('MemTotal') ?? 0;
    const usage = total - (mem.get('MemFree') ?? 0);
    const net = this.netdev.read();
    return {
      cpuUsageNs: (user + nice + system + irq + softirq + steal) * tick,
      cpuUserNs: (user + nice) * tick,
      cpuSystemNs: system * tick,
      memoryTotalBytes: total,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - (mem.get('Inactive(file)') ?? 0)),
      memoryCacheBytes: (mem.get('Cached') ?? 0) + (mem.get('Buffers') ?? 0),
      network: net ? parseNetDev(net).filter((i) => !isIgnoredInterface(i.name)) : [],
    };
  }

  close(): void {
    this.stat.close();
    this.meminfo.close();
    this.netdev.close();
  }
}

function countCpus(procRoot: string): number {
  try {
    const n = readFileSync(join(procRoot, 'stat'), 'latin1')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l)).length;
    return n || cpus().length;
  } catch {
    return cpus().length;
  }
}
