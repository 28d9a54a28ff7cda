/**
 * container-stats on real containers (the test stack's Docker engine, busybox, network none):
 * what each container is made to do is the truth its numbers are checked against, through the
 * collector, /metrics (promtool), and a real Prometheus evaluating cAdvisor dashboards' PromQL.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NetnsReader } from '@windsock/cgroups';
import { freePort } from '../../../test/helpers/stack.ts';
import { harness, ipIn, until } from './support/harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
const MiB = 1024 * 1024;

let prom: { port: number; stop: () => Promise<void> };

/** A real Prometheus (Debian package) scraping the service every second, started first so its [1m] windows fill while the other tests run. */
async function startPrometheus(target: string, promBin: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ws-cs-prom-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: windsock\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const p = spawn(
    promBin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  return {
    port,
    stop: async () => {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

before(async () => {
  h = await harness();
  prom = await startPrometheus(new URL(h.url).host, h.promtool.replace(/promtool$/, 'prometheus'));
});
after(async () => {
  await prom?.stop();
  await h?.cleanup();
});

/** Mean CPU cores over the ring's last `seconds`. */
function meanCores(id: string, seconds: number): number {
  const rows = h.collector.containers.get(id)?.ring.since(0) ?? [];
  const a = rows[Math.max(0, rows.length - 1 - seconds)];
  const b = rows[rows.length - 1];
  if (!a || !b || b.t === a.t) return 0;
  return (b.cpuUsageNs - a.cpuUsageNs) / 1e6 / (b.t - a.t);
}

describe('container-stats on real containers', () => {
  const ids: Record<string, string> = {};

  test('a container limited to 0.5 CPU that burns reads 0.5 cores +/- 5% and shows throttling', async () => {
    const burner = await h.run(h.name('burner'), '(while :; do :; done) & while :; do :; done', {
      NanoCpus: 500_000_000,
    });
    ids.burner = burner.id;
    const t = await h.tracked(burner.id, 8);
    const cores = meanCores(burner.id, 6);
    assert.ok(Math.abs(cores - 0.5) <= 0.025, `read ${cores.toFixed(3)} cores, limit 0.5`);
    const s = t.last;
    assert.ok(s && (s.cfsThrottledPeriods ?? 0) > 0, 'no throttled periods');
    assert.ok((s?.cfsThrottledNs ?? 0) > 0);
    assert.equal(t.spec.cpuQuotaUs, 50_000);
    assert.equal(t.spec.cpuPeriodUs, 100_000);
    assert.equal(t.info.id, `${h.parent}/${burner.id}`);
  });

  test('a container holding 40 MiB reads it within 5%; its limit shows; unlimited memory is exported as 0', async () => {
    const size = 40 * MiB;
    const mem = await h.run(
      h.name('mem'),
      `head -c ${size} /dev/zero > /dev/shm/fill && echo filled > /tmp/ready; sleep 600`,
      { Memory: 128 * MiB },
      { 'com.amazonaws.ecs.task-definition-family': 'airflow-worker', 'com.amazonaws.ecs.container-name': 'worker' },
    );
    ids.mem = mem.id;
    const t = await h.tracked(mem.id);
    // memory.stat is flushed by the kernel every ~2 s: wait for the working set to settle.
    await until(() => (t.last?.memoryWorkingSetBytes ?? 0) >= size * 0.95, 30_000, 'the fill to show');
    const ws = t.last?.memoryWorkingSetBytes ?? 0;
    assert.ok(Math.abs(ws - size) <= size * 0.05, `working set ${ws}, filled ${size}`);
    assert.ok(Math.abs((t.last?.memoryUsageBytes ?? 0) - size) <= size * 0.05);
    assert.equal(t.spec.memoryLimitBytes, 128 * MiB);
    const unlimited = await h.run(h.name('unlimited'), 'sleep 600');
    ids.unlimited = unlimited.id;
    await h.tracked(unlimited.id);
    const text = await h.metricsText();
    const line = (metric: string, id: string) =>
      text.split('\n').find((l) => l.startsWith(`${metric}{`) && l.includes(`id="${h.parent}/${id}"`));
    assert.match(line('container_spec_memory_limit_bytes', mem.id) ?? '', / 134217728$/);
    assert.match(line('container_spec_memory_limit_bytes', unlimited.id) ?? '', / 0$/);
    assert.match(
      line('container_memory_working_set_bytes', mem.id) ?? '',
      /container_label_com_amazonaws_ecs_task_definition_family="airflow-worker"/,
    );
    assert.match(line('container_spec_cpu_quota', ids.burner as string) ?? '', / 50000$/);
    assert.equal(line('container_spec_cpu_quota', unlimited.id), undefined, 'no quota: no container_spec_cpu_quota');
    assert.equal(line('container_cpu_cfs_periods_total', unlimited.id), undefined);
  });

  test('bytes sent between two containers show in their counters; loopback inside a netns is read but left out, as cAdvisor does', async () => {
    const n = 1_000_000;
    const waitIp = (ip: string) => `until ip addr | grep -q ${ip}; do sleep 0.1; done`;
    const b = await h.run(h.name('net-b'), `${waitIp('10.213.0.2')}; sleep 600 | nc -l -p 9000 > /dev/null`);
    const a = await h.run(
      h.name('net-a'),
      `${waitIp('10.213.0.1')}; sleep 1; head -c ${n} /dev/zero | nc 10.213.0.2 9000; sleep 2; ` +
        `(sleep 600 | nc -l -p 9001 > /dev/null &) ; sleep 1; head -c ${n} /dev/zero | nc 127.0.0.1 9001; sleep 600`,
    );
    const lo = new NetnsReader('/proc', a.pid);
    const loBefore = lo.sampleAll().find((i) => i.name === 'lo')?.rxBytes ?? 0;
    // A veth pair between the two network namespaces, named eth0 on both sides.
    const va = `wsa${h.tag}`;
    const vb = `wsb${h.tag}`;
    execFileSync('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    execFileSync('ip', ['link', 'set', va, 'netns', String(a.pid)]);
    execFileSync('ip', ['link', 'set', vb, 'netns', String(b.pid)]);
    ipIn(a.pid, 'link', 'set', va, 'name', 'eth0');
    ipIn(b.pid, 'link', 'set', vb, 'name', 'eth0');
    ipIn(b.pid, 'link', 'set', 'eth0', 'up');
    ipIn(a.pid, 'link', 'set', 'eth0', 'up');
    ipIn(b.pid, 'addr', 'add', '10.213.0.2/30', 'dev', 'eth0');
    ipIn(a.pid, 'addr', 'add', '10.213.0.1/30', 'dev', 'eth0');
    const ta = await h.tracked(a.id);
    const tb = await h.tracked(b.id);
    const eth0 = (t: typeof ta) => t.last?.network.find((i) => i.name === 'eth0');
    await until(() => (eth0(tb)?.rxBytes ?? 0) >= n, 30_000, 'rx on the receiver');
    await until(() => (eth0(ta)?.txBytes ?? 0) >= n, 10_000, 'tx on the sender');
    const tx = eth0(ta)?.txBytes ?? 0;
    const rx = eth0(tb)?.rxBytes ?? 0;
    // TCP/IP headers add ~4.5% at a 1500-byte MTU, plus the handshake.
    assert.ok(tx >= n && tx <= n * 1.08, `eth0 tx ${tx} for ${n} payload bytes`);
    assert.ok(rx >= n && rx <= n * 1.08, `eth0 rx ${rx}`);
    // (A listening busybox nc stops at EOF on its stdin, hence the `sleep | nc -l`.)
    // Loopback: counted by the kernel, read by NetnsReader.sampleAll, not exported.
    await until(() => (lo.sampleAll().find((i) => i.name === 'lo')?.rxBytes ?? 0) - loBefore >= n, 30_000, 'lo');
    lo.close();
    assert.ok(!ta.last?.network.some((i) => i.name === 'lo'));
    const text = await h.metricsText();
    assert.ok(
      text
        .split('\n')
        .some(
          (l) =>
            l.startsWith('container_network_transmit_bytes_total{') &&
            l.includes(`id="${h.parent}/${a.id}"`) &&
            l.includes('interface="eth0"'),
        ),
    );
  });

  test('an OOM-killed process shows as an OOM event', async () => {
    const oom = await h.run(
      h.name('oom'),
      `sh -c 'x=$(head -c 100000000 /dev/zero | tr "\\\\0" a); echo $x' ; sleep 600`,
      { Memory: 32 * MiB, MemorySwap: 32 * MiB },
    );
    const t = await h.tracked(oom.id);
    await until(() => (t.last?.oomKills ?? 0) >= 1, 60_000, 'the OOM kill');
    const text = await h.metricsText();
    const line = text.split('\n').find((l) => l.startsWith('container_oom_events_total{') && l.includes(oom.id));
    assert.ok(line && Number(line.slice(line.lastIndexOf(' ') + 1)) >= 1, line);
  });

  test('promtool check metrics passes on /metrics', async () => {
    const text = await h.metricsText();
    const r = spawnSync(h.promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    for (const name of [
      'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes',
      'machine_cpu_cores',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    }
    assert.ok(!/windsock_container_/.test(text), 'cAdvisor names pass through unprefixed');
  });

  test('a real Prometheus scraping it answers cAdvisor dashboard PromQL with the known load', async () => {
    const port = prom.port;
    const query = async (q: string) => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = (await r.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return j.data.result;
    };
    try {
      const cpuQ = 'sum(rate(container_cpu_usage_seconds_total{name=~".+"}[1m])) by (name)';
      // Enough scrapes for a steady rate: the burner has burned at its limit since before the first.
      await until(
        async () => {
          try {
            const up = await query('count_over_time(up{job="windsock"}[1m])');
            // rate(...[1m]) divides by the whole minute: it is right once a minute of scrapes exists.
            return Number(up[0]?.value[1] ?? 0) >= 58;
          } catch {
            return false;
          }
        },
        90_000,
        'prometheus scrapes',
      );
      const cpu = await query(cpuQ);
      const burner = cpu.find((r) => r.metric.name === h.name('burner'));
      assert.ok(burner, `no ${h.name('burner')} in ${JSON.stringify(cpu.map((r) => r.metric.name))}`);
      const cores = Number(burner.value[1]);
      // What the burner really got over the same minute, from the scraped counter itself: on a busy
      // 2-core machine a 0.5-CPU container is sometimes starved below its limit (the cgroup reading
      // of 0.5 +/- 5% is asserted by the test above, on an exclusive second).
      const raw = (await query(
        `container_cpu_usage_seconds_total{name="${h.name('burner')}",cpu="total"}[1m]`,
      )) as unknown as Array<{
        values: Array<[number, string]>;
      }>;
      const points = raw[0]?.values ?? [];
      const first = points[0]!;
      const last = points[points.length - 1]!;
      const got = (Number(last[1]) - Number(first[1])) / (last[0] - first[0]);
      const detail = `PromQL says ${cores} cores, the scraped counter ${got}; raw ${JSON.stringify(raw).slice(0, 1500)}`;
      assert.ok(Math.abs(cores - got) <= 0.05 * got, detail);
      assert.ok(Math.abs(cores - 0.5) <= 0.075, detail);
      assert.ok(!cpu.some((r) => r.metric.name === ''), 'the root cgroup has no name and stays out');
      const ratio = await query(
        `container_memory_working_set_bytes{name="${h.name('mem')}"} / container_spec_memory_limit_bytes{name="${h.name('mem')}"}`,
      );
      const r = Number(ratio[0]?.value[1]);
      assert.ok(Math.abs(r - 40 / 128) <= (40 / 128) * 0.05, `working set / limit = ${r}`);
      const throttled = await query(
        `sum(increase(container_cpu_cfs_throttled_periods_total{name="${h.name('burner')}"}[1m])) / sum(increase(container_cpu_cfs_periods_total{name="${h.name('burner')}"}[1m]))`,
      );
      assert.ok(Number(throttled[0]?.value[1]) > 0.1, `throttled ratio ${throttled[0]?.value[1]}`);
    } finally {
      await prom.stop();
    }
  });

  test('stopping a container takes its series out of /metrics', async () => {
    const id = ids.unlimited as string;
    await h.docker.getContainer(id).remove({ force: true });
    await until(() => !h.collector.containers.has(id), 30_000, 'removal');
    assert.ok(!(await h.metricsText()).includes(id));
  });
});
