/**
 * The readers on this machine's real cgroup hierarchies: the v1 controllers and the v2 unified
 * mount, each with a child cgroup the test creates and puts a process into. Expected numbers come
 * from the process itself (/proc/<pid>/stat) or from what the test made it do.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CgroupV1Reader,
  CgroupV2Reader,
  cgroupMountsFromProc,
  NetnsReader,
  NodeReader,
  openCgroupOfProcess,
  openStatFileCount,
  StatFileGoneError,
} from '../src/index.ts';

const mounts = cgroupMountsFromProc(readFileSync('/proc/self/mounts', 'utf8'));
const children: ChildProcess[] = [];
const dirs: string[] = [];

after(async () => {
  for (const c of children) killGroup(c);
  await sleep(200);
  for (const d of dirs.reverse()) {
    for (let i = 0; i < 20 && existsSync(d); i++) {
      try {
        rmdirSync(d);
      } catch {
        await sleep(100);
      }
    }
  }
});

/** CPU time of a process so far (ns), from /proc/<pid>/stat utime + stime (USER_HZ ticks). */
function processCpuNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e9) / 100;
}

/** Kill a child and every process it started (a shell's background loops too). */
function killGroup(c: ChildProcess): void {
  try {
    process.kill(-(c.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A shell that waits for a line on stdin before running `script`, so it can be moved first. */
function gatedShell(script: string): ChildProcess & { go(): void } {
  const c = spawn('sh', ['-c', `read go; ${script}`], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  children.push(c);
  return Object.assign(c, { go: () => c.stdin?.write('go\n') });
}

function makeCgroup(base: string, name: string): string {
  const d = join(base, name);
  mkdirSync(d);
  dirs.push(d);
  return d;
}

describe('cgroup v1 (the real hierarchy)', () => {
  const name = `ws-cg-test-${randomBytes(3).toString('hex')}`;
  const ctl = (c: string) => join(mounts.v1.get(c) as string, name);

  test('the machine mounts the v1 controllers Windsock reads', () => {
    for (const c of ['cpu', 'cpuacct', 'memory', 'blkio', 'pids']) assert.ok(mounts.v1.get(c), `no v1 ${c} mount`);
  });

  test('CPU equals the process CPU; a 0.5 CPU quota throttles; limits read back', async () => {
    for (const c of ['cpu', 'cpuacct', 'memory', 'blkio', 'pids']) makeCgroup(mounts.v1.get(c) as string, name);
    writeFileSync(join(ctl('cpu'), 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(ctl('cpu'), 'cpu.cfs_quota_us'), '50000');
    // The machine is shared and busy: the highest weight lets the burner reach its quota anyway.
    writeFileSync(join(ctl('cpu'), 'cpu.shares'), '262144');
    writeFileSync(join(ctl('memory'), 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
    writeFileSync(join(ctl('pids'), 'pids.max'), '50');
    // Two loops in one shell: together they want 2 cores against a 0.5 quota.
    const burner = gatedShell('(while :; do :; done) & while :; do :; done');
    for (const c of ['cpu', 'cpuacct', 'memory', 'blkio', 'pids']) {
      writeFileSync(join(ctl(c), 'cgroup.procs'), String(burner.pid));
    }
    const reader = openCgroupOfProcess(mounts, burner.pid as number);
    assert.ok(reader instanceof CgroupV1Reader);
    assert.equal(reader.path, `/${name}`);
    const before = reader.sample();
    burner.go();
    await sleep(2500);
    const s = reader.sample();
    const used = s.cpuUsageNs - before.cpuUsageNs;
    assert.ok(used > 0.3e9, `burned only ${used} ns in 2.5 s`);
    assert.ok(used <= 2.5e9 * 0.5 + 0.2e9, `a 0.5 CPU quota let ${used} ns through in 2.5 s`);
    assert.ok((s.cfsPeriods ?? 0) > (before.cfsPeriods ?? 0));
    assert.ok((s.cfsThrottledPeriods ?? 0) > 0, 'no throttled period at 0.5 CPU');
    assert.ok((s.cfsThrottledNs ?? 0) > 0);
    // user + system (USER_HZ ticks) sum to the total within the tick resolution and sampling skew.
    const us = s.cpuUserNs + s.cpuSystemNs;
    assert.ok(Math.abs(us - s.cpuUsageNs) < 0.1e9 + 0.05 * s.cpuUsageNs, `user+system ${us} vs total ${s.cpuUsageNs}`);
    assert.equal(s.pids, 2);
    const spec = reader.spec();
    assert.equal(spec.cpuQuotaUs, 50000);
    assert.equal(spec.cpuPeriodUs, 100000);
    assert.equal(spec.memoryLimitBytes, 256 * 1024 * 1024);
    assert.equal(spec.pidsLimit, 50);
    reader.close();
  });

  test('memory: a 32 MiB file in /dev/shm is charged as cache and working set; an OOM kill is counted', async () => {
    const mem = ctl('memory');
    const file = `/dev/shm/${name}`;
    const size = 32 * 1024 * 1024;
    const writer = gatedShell(`head -c ${size} /dev/zero > ${file}; echo written; sleep 60`);
    writer.stdout?.setEncoding('utf8');
    const written = new Promise((r) => writer.stdout?.on('data', (d: string) => d.includes('written') && r(true)));
    writeFileSync(join(mem, 'cgroup.procs'), String(writer.pid));
    writeFileSync(join(ctl('cpuacct'), 'cgroup.procs'), String(writer.pid));
    const reader = new CgroupV1Reader(mounts, `/${name}`);
    const before = reader.sample();
    writer.go();
    await written;
    // usage is a page counter (exact at once); memory.stat is flushed by the kernel every ~2 s.
    let s = reader.sample();
    for (let i = 0; i < 50 && s.memoryCacheBytes - before.memoryCacheBytes < size * 0.95; i++) {
      await sleep(100);
      s = reader.sample();
    }
    try {
      const usageGrown = s.memoryUsageBytes - before.memoryUsageBytes;
      assert.ok(Math.abs(usageGrown - size) <= size * 0.05, `usage grew ${usageGrown}, wrote ${size}`);
      const grown = s.memoryCacheBytes - before.memoryCacheBytes;
      assert.ok(Math.abs(grown - size) <= size * 0.05, `cache grew ${grown}, wrote ${size}`);
      // shmem pages are swap-backed: never inactive_file, so the working set holds them.
      assert.ok(s.memoryWorkingSetBytes >= size * 0.95, `working set ${s.memoryWorkingSetBytes}`);
      assert.ok(s.memoryUsageBytes >= s.memoryWorkingSetBytes);
      assert.ok((s.memoryMaxUsageBytes ?? 0) >= s.memoryUsageBytes);
    } finally {
      rmSync(file, { force: true });
    }
    // OOM: a 64 MiB limit and a shell that holds 96 MiB in memory.
    writeFileSync(join(mem, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    const hog = gatedShell(`x=$(head -c ${96 * 1024 * 1024} /dev/zero | tr '\\0' 'a'); echo \${#x}`);
    writeFileSync(join(mem, 'cgroup.procs'), String(hog.pid));
    const oomBefore = reader.sample().oomKills ?? 0;
    const exited = new Promise((r) => hog.once('exit', r));
    hog.go();
    await exited;
    const after = reader.sample();
    assert.ok((after.oomKills ?? 0) > oomBefore, `oom_kill ${after.oomKills} (before ${oomBefore})`);
    assert.ok((after.memoryFailcnt ?? 0) > 0);
    reader.close();
  });

  test('a removed cgroup reads as gone, and closing releases every handle', async () => {
    const gone = `ws-cg-gone-${randomBytes(3).toString('hex')}`;
    const dirsMade = ['cpuacct', 'memory'].map((c) => {
      const d = join(mounts.v1.get(c) as string, gone);
      mkdirSync(d);
      return d;
    });
    const open0 = openStatFileCount();
    const reader = new CgroupV1Reader(mounts, `/${gone}`);
    reader.sample();
    assert.ok(openStatFileCount() > open0);
    for (const d of dirsMade) rmdirSync(d);
    assert.throws(() => reader.sample(), StatFileGoneError);
    reader.close();
    assert.equal(openStatFileCount(), open0);
  });
});

describe('cgroup v2 (the unified mount)', () => {
  test('CPU of a child cgroup equals the CPU of the process moved into it', async (t) => {
    assert.ok(mounts.v2, 'no cgroup2 mount in /proc/mounts');
    const dir = makeCgroup(mounts.v2, `ws-cg-test-${randomBytes(3).toString('hex')}`);
    const burner = gatedShell('while :; do :; done');
    writeFileSync(join(dir, 'cgroup.procs'), String(burner.pid));
    const reader = openCgroupOfProcess({ v1: new Map(), v2: mounts.v2 }, burner.pid as number);
    assert.ok(reader instanceof CgroupV2Reader);
    const before = reader.sample();
    const cpuBefore = processCpuNs(burner.pid as number);
    burner.go();
    await sleep(1500);
    const s = reader.sample();
    const used = s.cpuUsageNs - before.cpuUsageNs;
    const procUsed = processCpuNs(burner.pid as number) - cpuBefore;
    assert.ok(Math.abs(used - procUsed) <= 30e6, `cgroup ${used} ns vs process ${procUsed} ns`);
    assert.ok(used > 0.02e9, `burned only ${used} ns`);
    assert.ok(Math.abs(s.cpuUserNs + s.cpuSystemNs - s.cpuUsageNs) <= 1e6 + 0.01 * s.cpuUsageNs);
    const controllers = readFileSync(join(mounts.v2, 'cgroup.controllers'), 'utf8').trim();
    t.diagnostic(`unified mount controllers: "${controllers}" (memory/io/pids files exist only where enabled)`);
    if (!controllers.split(' ').includes('memory')) {
      // Without the memory controller the files are absent: zeros, not an error.
      assert.equal(s.memoryUsageBytes, 0);
      assert.equal(s.oomKills, undefined);
    }
    const spec = reader.spec();
    assert.equal(spec.cpuQuotaUs, 0);
    assert.equal(spec.memoryLimitBytes, null);
    reader.close();
    killGroup(burner);
  });
});

describe('node and netns readers', () => {
  test('the node reader sees this machine', () => {
    const node = new NodeReader('/proc');
    const a = node.sample();
    assert.ok(node.cpuCores >= 1);
    assert.ok(a.memoryTotalBytes > 0 && a.memoryUsageBytes > 0 && a.memoryUsageBytes <= a.memoryTotalBytes);
    assert.ok(a.cpuUsageNs > 0);
    node.close();
  });

  test('the net/dev handle pins its namespace: it reads after the process exits, until closed', async () => {
    const c = spawn('sleep', ['30']);
    children.push(c);
    const net = new NetnsReader('/proc', c.pid as number);
    assert.ok(net.sampleAll().some((i) => i.name === 'lo'));
    assert.ok(!net.sample().some((i) => i.name === 'lo'));
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    // The owner (discovery: a die event, a removed cgroup) decides when a container is gone.
    assert.ok(net.sampleAll().some((i) => i.name === 'lo'));
    const open = openStatFileCount();
    net.close();
    assert.equal(openStatFileCount(), open - 1);
  });
});
