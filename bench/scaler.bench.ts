/**
 * Scaler bench: the chaos workload (bursts, idle gaps, tasks longer than the window) as a 1-second
 * time-stepped SIMULATION (not real workers), run side by side for Windsock's decision (the real
 * `decide` from @windsock/scaling, exits only for idle workers), a static pool at max, and the
 * KEDA/Helm rule (replicas = ceil((running + queued) / concurrency), 300 s scale-down stabilisation,
 * stop any worker). Prints worker-minutes against the ideal (integral of ceil(demand / concurrency)),
 * tasks killed, and mean seconds from backlog to capacity.
 *   node --import tsx bench/scaler.bench.ts [--minutes 60]
 */
import { decide, initialMemory, resolveWorkerPools } from '@windsock/scaling';

const MIN = Number(process.argv[process.argv.indexOf('--minutes') + 1]) || 60;
const C = 4;
const START_S = 20; // container start
const POLL_S = 10;
const [pool] = resolveWorkerPools(
  [
    {
      name: 'w',
      queues: ['q'],
      min: 1,
      max: 10,
      scaleInStabilisationSeconds: 120,
      scaleOutCooldownSeconds: 0,
      scaleInCooldownSeconds: 0,
    },
  ],
  { concurrency: C },
);

// deterministic workload: bursts every ~7 min, sizes and lengths from a fixed LCG
let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const arrivals: Array<{ at: number; dur: number }> = [];
for (let t = 30; t < MIN * 60 - 600; t += 300 + Math.floor(rnd() * 240)) {
  const n = 8 + Math.floor(rnd() * 24);
  for (let i = 0; i < n; i++)
    arrivals.push({ at: t + Math.floor(rnd() * 20), dur: rnd() < 0.1 ? 400 : 30 + Math.floor(rnd() * 150) });
}

type Worker = { readyAt: number; tasks: number[]; leaving?: boolean };
type Policy = 'windsock' | 'static-max' | 'keda';

function run(policy: Policy) {
  const workers: Worker[] = Array.from({ length: policy === 'static-max' ? pool!.max : pool!.min }, () => ({
    readyAt: 0,
    tasks: [],
  }));
  const queue: number[] = []; // remaining durations of queued tasks
  let memory = initialMemory();
  const history: Array<{ at: number; n: number }> = [];
  let workerSeconds = 0,
    idealSeconds = 0,
    killed = 0,
    ai = 0;
  let backlogSince: number | null = null;
  const waits: number[] = [];
  for (let t = 0; t < MIN * 60; t++) {
    while (ai < arrivals.length && arrivals[ai]!.at <= t) queue.push(arrivals[ai++]!.dur);
    for (const w of workers) w.tasks = w.tasks.map((d) => d - 1).filter((d) => d > 0);
    for (const w of workers)
      while (t >= w.readyAt && !w.leaving && w.tasks.length < C && queue.length) w.tasks.push(queue.shift()!);
    const running = workers.reduce((n, w) => n + w.tasks.length, 0);
    const demand = running + queue.length;
    const need = Math.min(pool!.max, Math.max(pool!.min, Math.ceil(demand / C)));
    idealSeconds += need;
    workerSeconds += workers.length;
    const capacity = workers.filter((w) => t >= w.readyAt && !w.leaving).length * C;
    if (queue.length > 0 && backlogSince === null) backlogSince = t;
    if (backlogSince !== null && capacity >= demand) {
      waits.push(t - backlogSince);
      backlogSince = null;
    }
    // Windsock's handshake: a granted idle worker leaves within a second
    for (let i = workers.length - 1; i >= 0; i--)
      if (workers[i]!.leaving && workers[i]!.tasks.length === 0) workers.splice(i, 1);
    if (t % POLL_S !== 0 || policy === 'static-max') continue;
    if (policy === 'windsock') {
      const busy = workers.filter((w) => w.tasks.length > 0).length;
      const pending = workers.filter((w) => w.leaving).length;
      const d = decide(pool!, { now: t * 1000, demand, current: workers.length, busy, exitsPending: pending }, memory);
      memory = d.memory;
      for (let i = 0; i < d.add; i++) workers.push({ readyAt: t + START_S, tasks: [] });
      let budget = d.exitBudget;
      for (const w of workers)
        if (budget > 0 && !w.leaving && w.tasks.length === 0 && t >= w.readyAt) {
          w.leaving = true;
          budget--;
        }
    } else {
      history.push({ at: t, n: need });
      while (history.length && history[0]!.at < t - 300) history.shift();
      const target = Math.max(...history.map((h) => h.n));
      while (workers.length < target) workers.push({ readyAt: t + START_S, tasks: [] });
      while (workers.length > target) {
        const w = workers.pop()!;
        killed += w.tasks.length;
      } // stop any worker
    }
  }
  return {
    policy,
    workerMinutes: workerSeconds / 60,
    idealMinutes: idealSeconds / 60,
    killed,
    meanBacklogToCapacityS: waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : 0,
  };
}

console.log(
  `# scaler bench (time-stepped simulation, ${MIN} min, ${arrivals.length} tasks, concurrency ${C}, start ${START_S} s, poll ${POLL_S} s)`,
);
console.log('policy       worker-min  ideal-min  ratio  killed  mean backlog->capacity s');
for (const p of ['windsock', 'static-max', 'keda'] as Policy[]) {
  const r = run(p);
  console.log(
    `${p.padEnd(12)} ${r.workerMinutes.toFixed(1).padStart(10)} ${r.idealMinutes.toFixed(1).padStart(10)} ${(r.workerMinutes / r.idealMinutes).toFixed(2).padStart(6)} ${String(r.killed).padStart(7)} ${r.meanBacklogToCapacityS.toFixed(1).padStart(10)}`,
  );
}
