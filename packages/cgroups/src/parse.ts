/** Parsers for the kernel's stat file formats (flat-keyed, nested-keyed, single value, net/dev, blkio). */

/** `key value` lines (cpu.stat, memory.stat, memory.events, cpuacct.stat) into a map. Unknown keys are kept. */
export function parseFlatKeyed(text: string, into: Map<string, number> = new Map()): Map<string, number> {
  into.clear();
  let i = 0;
  const len = text.length;
  while (i < len) {
    let nl = text.indexOf('\n', i);
    if (nl < 0) nl = len;
    const sp = text.indexOf(' ', i);
    if (sp > i && sp < nl) {
      const v = Number(text.slice(sp + 1, nl));
      if (!Number.isNaN(v)) into.set(text.slice(i, sp), v);
    }
    i = nl + 1;
  }
  return into;
}

/** A file holding one number (`cpuacct.usage`, `memory.current`); `max` (v2) or a value > 2^62 (v1) is null = unlimited. */
export function parseLimit(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '') return null;
  const v = Number(t);
  if (Number.isNaN(v)) return undefined;
  // v1 writes "no limit" as PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712) or -1.
  return v < 0 || v > 2 ** 62 ? null : v;
}

/** A file holding one non-negative number; undefined when absent or unreadable. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text.trim());
  return Number.isNaN(v) ? undefined : v;
}

/** Bytes read and written on one block device (`MAJ:MIN`). */
export interface DeviceIo {
  device: string;
  readBytes: number;
  writeBytes: number;
}

/** v2 `io.stat`: `8:16 rbytes=1459200 wbytes=314773504 rios=192 ...` (keys in any order). */
export function parseIoStat(text: string): DeviceIo[] {
  const out: DeviceIo[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const device = parts[0] as string;
    let readBytes = 0;
    let writeBytes = 0;
    for (let k = 1; k < parts.length; k++) {
      const p = parts[k] as string;
      if (p.startsWith('rbytes=')) readBytes = Number(p.slice(7));
      else if (p.startsWith('wbytes=')) writeBytes = Number(p.slice(7));
    }
    out.push({ device, readBytes, writeBytes });
  }
  return out;
}

/** v1 `blkio.*io_service_bytes*`: `8:0 Read 9430933504` lines (op case-insensitive) and a final `Total N`. */
export function parseBlkioServiceBytes(text: string): DeviceIo[] {
  const byDevice = new Map<string, DeviceIo>();
  for (const line of text.split('\n')) {
    const parts = line.split(' ');
    if (parts.length !== 3) continue;
    const [device, op, value] = parts as [string, string, string];
    const lower = op.toLowerCase();
    if (lower !== 'read' && lower !== 'write') continue;
    let d = byDevice.get(device);
    if (!d) {
      d = { device, readBytes: 0, writeBytes: 0 };
      byDevice.set(device, d);
    }
    if (lower === 'read') d.readBytes = Number(value);
    else d.writeBytes = Number(value);
  }
  return [...byDevice.values()];
}

/** Counters of one network interface, as `/proc/<pid>/net/dev` shows them. */
export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** Interfaces cAdvisor leaves out of a container's network stats: loopback and the host side of bridges. */
export function isIgnoredInterface(name: string): boolean {
  return name.startsWith('lo') || name.startsWith('veth') || name.startsWith('docker') || name.startsWith('nerdctl');
}

/** `/proc/<pid>/net/dev` (two header lines, then `name: rx×8 tx×8`), every interface. */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  const lines = text.split('\n');
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16) continue;
    out.push({
      name,
      rxBytes: f[0] as number,
      rxPackets: f[1] as number,
      rxErrors: f[2] as number,
      rxDropped: f[3] as number,
      txBytes: f[8] as number,
      txPackets: f[9] as number,
      txErrors: f[10] as number,
      txDropped: f[11] as number,
    });
  }
  return out;
}
