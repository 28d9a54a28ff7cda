/** The parsers on the kernel's own formats (cgroup-v2.rst, cgroup-v1 blkio/memory docs, proc(5)). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cgroupMountsFromProc,
  cpuWeightToShares,
  isIgnoredInterface,
  parseBlkioServiceBytes,
  parseFlatKeyed,
  parseIoStat,
  parseLimit,
  parseNetDev,
  parseProcCgroup,
} from '../src/index.ts';

test('flat-keyed files keep every key, including ones added later in the middle', () => {
  const m = parseFlatKeyed('usage_usec 1500\nuser_usec 1000\nnew_key 7\nsystem_usec 500\n');
  assert.deepEqual(
    [...m],
    [
      ['usage_usec', 1500],
      ['user_usec', 1000],
      ['new_key', 7],
      ['system_usec', 500],
    ],
  );
});

test('limits: "max" and v1 no-limit values are unlimited', () => {
  assert.equal(parseLimit('max\n'), null);
  assert.equal(parseLimit('9223372036854771712\n'), null);
  assert.equal(parseLimit('-1\n'), null);
  assert.equal(parseLimit('67108864\n'), 67108864);
  assert.equal(parseLimit(undefined), undefined);
});

test('io.stat (v2): keys in any order, devices kept apart', () => {
  const io = parseIoStat(
    '8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n8:0 wbytes=5 rbytes=7\n',
  );
  assert.deepEqual(io, [
    { device: '8:16', readBytes: 1459200, writeBytes: 314773504 },
    { device: '8:0', readBytes: 7, writeBytes: 5 },
  ]);
});

test('blkio io_service_bytes (v1): Read/Write per device, Total ignored, ops case-insensitive', () => {
  const io = parseBlkioServiceBytes(
    '8:0 Read 9430933504\n8:0 Write 4096\n8:0 Sync 1\n8:0 Async 2\n8:0 Discard 0\n8:0 Total 9430937600\n8:16 read 3\nTotal 9430937603\n',
  );
  assert.deepEqual(io, [
    { device: '8:0', readBytes: 9430933504, writeBytes: 4096 },
    { device: '8:16', readBytes: 3, writeBytes: 0 },
  ]);
});

test('net/dev: every interface; cAdvisor skips lo, veth, docker and nerdctl', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
  eth0: 1048576    800    1    2    0     0          0         0     2048      30    3    4    0     0       0          0
`;
  const all = parseNetDev(text);
  assert.equal(all.length, 2);
  assert.deepEqual(all[1], {
    name: 'eth0',
    rxBytes: 1048576,
    rxPackets: 800,
    rxErrors: 1,
    rxDropped: 2,
    txBytes: 2048,
    txPackets: 30,
    txErrors: 3,
    txDropped: 4,
  });
  for (const n of ['lo', 'veth12ab', 'docker0', 'nerdctl0']) assert.ok(isIgnoredInterface(n), n);
  for (const n of ['eth0', 'eth1', 'ens5']) assert.ok(!isIgnoredInterface(n), n);
});

test('/proc/mounts and /proc/<pid>/cgroup: hybrid, joint controllers, v2-only', () => {
  const m = cgroupMountsFromProc(
    'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n',
  );
  assert.equal(m.v1.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(m.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(m.v2, '/sys/fs/cgroup/unified');
  const cg = parseProcCgroup('4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/system.slice/docker-abc.scope\n');
  assert.equal(cg.v1.get('cpuacct'), '/docker/abc');
  assert.equal(cg.v2, '/system.slice/docker-abc.scope');
});

test('cpu.weight converts back to the shares runc wrote it from', () => {
  assert.equal(cpuWeightToShares(100), 2 + Math.round((99 * 262142) / 9999));
  assert.equal(cpuWeightToShares(1), 2);
  assert.equal(cpuWeightToShares(10000), 262144);
});
