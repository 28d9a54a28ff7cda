/**
 * Leader handover latency (the target the leader tests no longer assert on the clock): two
 * LeaderElectors on the test stack's PostgreSQL; the leader goes (its lock session is terminated
 * by the server, as when its task is killed or its network drops; or it stops cleanly) and the
 * time until the other is elected is measured. Target: within one `leader.intervalSeconds` (the
 * follower retries once per interval) plus a round trip. No anchor: nothing else elects on
 * Airflow's metadb.
 *
 *   node --import tsx bench/leader-handover.bench.ts [--rounds 20] [--interval-ms 500]
 */
import { parseArgs } from 'node:util';
import { LeaderElector, silentLogger } from '@windsock/core';
import pg from 'pg';
import { createDatabase } from '../test/helpers/stack.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '500' },
  },
});
const ROUNDS = Number(args.rounds);
const INTERVAL_MS = Number(args['interval-ms']);

function elector(url: string, name: string, onElected: () => void): LeaderElector {
  return new LeaderElector({
    connectionString: url,
    name: 'bench-singleton',
    lockId: 777,
    intervalMs: INTERVAL_MS,
    logger: silentLogger(),
    identity: name,
    onElected,
  });
}

async function round(url: string, admin: pg.Client, how: 'terminated' | 'stopped'): Promise<number> {
  let aElected!: () => void;
  const aUp = new Promise<void>((r) => {
    aElected = r;
  });
  const a = elector(url, 'a', () => aElected());
  await a.start();
  await aUp;
  let bAt = 0;
  let bElected!: () => void;
  const bUp = new Promise<void>((r) => {
    bElected = r;
  });
  const b = elector(url, 'b', () => {
    bAt = performance.now();
    bElected();
  });
  await b.start(); // its first attempt fails: A holds the lock
  const pid = (
    await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'windsock-leader-bench-singleton' AND datname = current_database() ORDER BY backend_start LIMIT 1",
    )
  ).rows[0]!.pid;
  const t0 = performance.now();
  if (how === 'terminated') {
    // The session ends on the server (a killed task, a dropped network): A is gone for good, so it
    // also stops campaigning (a live A could win the lock back first).
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await a.stop();
  } else await a.stop();
  await bUp;
  const ms = bAt - t0;
  await a.stop();
  await b.stop();
  return ms;
}

const pct = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;

const db = await createDatabase('benchleader');
const admin = new pg.Client({ connectionString: db.url });
await admin.connect();
try {
  for (const how of ['terminated', 'stopped'] as const) {
    const samples: number[] = [];
    for (let i = 0; i < ROUNDS; i++) samples.push(await round(db.url, admin, how));
    samples.sort((x, y) => x - y);
    const max = samples.at(-1)!;
    console.log(
      `leader handover (${how}), interval ${INTERVAL_MS} ms, ${ROUNDS} rounds: p50 ${pct(samples, 50).toFixed(0)} ms, p90 ${pct(samples, 90).toFixed(0)} ms, max ${max.toFixed(0)} ms; target <= interval + 200 ms: ${max <= INTERVAL_MS + 200 ? 'met' : 'NOT met'}`,
    );
  }
} finally {
  await admin.end();
  await db.drop();
}
