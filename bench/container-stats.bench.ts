/**
 * container-stats bench: Windsock sampling every container from cgroup files each second, against
 * the Docker stats API route (dockerode `stats` for every container each second), side by side in
 * one run on the same containers of the test stack's Docker engine. Windsock's cost is its own
 * process CPU (from /proc) and peak RSS (VmHWM); the stats route's cost is its client's CPU plus
 * the extra CPU of dockerd, containerd and the shims (their CPU in that phase minus their CPU in
 * Windsock's phase). Busy containers burn at a 0.2-CPU limit so the shared machine keeps room.
 *
 *   node --import tsx bench/container-stats.bench.ts [--idle 100] [--busy 10] [--seconds 120]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createDockerClient } from '@windsock/docker';
import { freePort, testStack } from '../test/helpers/stack.ts';

const { values } = parseArgs({
  options: {
    idle: { type: 'string', default: '100' },
    busy: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '120' },
  },
});
const IDLE = Number(values.idle);
const BUSY = Number(values.busy);
const SECONDS = Number(values.seconds);
const HZ = 100;

/** CPU seconds (user + system) of a process so far. */
function cpuSeconds(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return 0;
  }
}

/** dockerd and every process below it (containerd, shims). */
function engineTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      if (!comm.startsWith('containerd') && comm !== 'dockerd') continue;
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch {
      // exited
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const c of children.get(out[i] as number) ?? []) out.push(c);
  return out;
}

const engineCpu = (root: number) => engineTree(root).reduce((a, p) => a + cpuSeconds(p), 0);
const hwmMiB = (pid: number) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

const stack = await testStack();
const docker = createDockerClient({ host: `unix://${stack.docker.socketPath}` });
const tag = Math.random().toString(16).slice(2, 8);
const ids: string[] = [];
process.stderr.write(`starting ${IDLE} idle + ${BUSY} busy containers...\n`);
for (let i = 0; i < IDLE + BUSY; i++) {
  const busy = i < BUSY;
  const c = await docker.createContainer({
    name: `ws-bench-cs-${tag}-${i}`,
    Image: stack.docker.image,
    Cmd: ['sh', '-c', busy ? 'while :; do :; done' : 'sleep 100000'],
    HostConfig: { NetworkMode: 'none', Memory: 32 * 1024 * 1024, ...(busy ? { NanoCpus: 200_000_000 } : {}) },
  });
  await c.start();
  ids.push(c.id);
}

try {
  // Phase 1: Windsock.
  const port = await freePort();
  const ws = spawn(
    process.execPath,
    ['bin/windsock.mjs', 'container-stats', '--docker-host', `unix://${stack.docker.socketPath}`],
    {
      env: { ...process.env, WINDSOCK_HTTP__PORT: String(port), WINDSOCK_LOG_LEVEL: 'warn' },
      stdio: 'inherit',
    },
  );
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`);
      const j = (await r.json()) as { services: Record<string, { containers: number }> };
      if ((j.services['container-stats']?.containers ?? 0) >= IDLE + BUSY) break;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await sleep(3000); // past start-up (module loading is not sampling cost)
  const ws0 = cpuSeconds(ws.pid as number);
  const e0 = engineCpu(stack.docker.pid);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const wsWall = (performance.now() - t0) / 1000;
  const wsCpu = cpuSeconds(ws.pid as number) - ws0;
  const engineDuringWs = engineCpu(stack.docker.pid) - e0;
  const wsRss = hwmMiB(ws.pid as number);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
    services: Record<string, { containers: number; ticks: number }>;
  };
  ws.kill('SIGTERM');
  await new Promise((r) => ws.once('exit', r));

  // Phase 2: the Docker stats API route, in its own process so its CPU is its own.
  const client = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import { createDockerClient } from '@windsock/docker';
       const d = createDockerClient({ host: 'unix://${stack.docker.socketPath}' });
       const ids = ${JSON.stringify(ids)};
       let stop = false; process.on('SIGTERM', () => { stop = true; });
       while (!stop) {
         const t = Date.now();
         await Promise.all(ids.map((id) => d.getContainer(id).stats({ stream: false }).catch(() => null)));
         await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t))));
       }
       process.exit(0);`,
    ],
    { stdio: 'inherit' },
  );
  await sleep(5000);
  const c0 = cpuSeconds(client.pid as number);
  const e1 = engineCpu(stack.docker.pid);
  const t1 = performance.now();
  await sleep(SECONDS * 1000);
  const apiWall = (performance.now() - t1) / 1000;
  const clientCpu = cpuSeconds(client.pid as number) - c0;
  const engineDuringApi = engineCpu(stack.docker.pid) - e1;
  const clientRss = hwmMiB(client.pid as number);
  client.kill('SIGTERM');
  await new Promise((r) => client.once('exit', r));

  const wsPct = (100 * wsCpu) / wsWall;
  const enginePctWs = (100 * engineDuringWs) / wsWall;
  const enginePctApi = (100 * engineDuringApi) / apiWall;
  const apiPct = (100 * clientCpu) / apiWall + Math.max(0, enginePctApi - enginePctWs);
  const n = IDLE + BUSY;
  process.stdout.write(
    [
      `container-stats bench: ${IDLE} idle + ${BUSY} busy containers, 1 s sampling, ${SECONDS} s per side (${new Date().toISOString().slice(0, 10)})`,
      `containers tracked by Windsock: ${status.services['container-stats']?.containers}, ticks: ${status.services['container-stats']?.ticks}`,
      '',
      '| route | CPU (% of one core) | peak RSS |',
      '|---|---:|---:|',
      `| Windsock (cgroup files, ${n} containers) | ${wsPct.toFixed(2)} % | ${wsRss.toFixed(1)} MiB |`,
      `| Docker stats API: client | ${((100 * clientCpu) / apiWall).toFixed(2)} % | ${clientRss.toFixed(1)} MiB |`,
      `| Docker stats API: dockerd + containerd + shims, above Windsock's phase | ${Math.max(0, enginePctApi - enginePctWs).toFixed(2)} % | |`,
      `| Docker stats API: total | ${apiPct.toFixed(2)} % | |`,
      '',
      `ratio (stats API / Windsock CPU): ${(apiPct / wsPct).toFixed(1)}x`,
      `engine CPU during Windsock's phase: ${enginePctWs.toFixed(2)} %; during the API phase: ${enginePctApi.toFixed(2)} %`,
      '',
    ].join('\n'),
  );
} finally {
  await Promise.all(
    ids.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}
