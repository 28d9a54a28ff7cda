import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createDatabase } from '../../../test/helpers/stack.ts';

const INTERVAL_MS = 500;
// A contender's start-up (tsx, imports) can take many seconds on a loaded machine. Nothing here is
// bounded by the clock: the test waits on events (log lines, the database's view of the sessions);
// how long a handover takes is measured in bench/queue-depth.bench.ts.
const STARTUP_MS = 60_000;
const child = join(import.meta.dirname, 'fixtures', 'leader-child.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  t: number;
  id: string;
  what: string;
}
const readLog = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [t, id, ...what] = l.split(' ');
      return { t: Number(t), id: id as string, what: what.join(' ') };
    });

async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The contenders' lock sessions as PostgreSQL sees them (pid, last query, when it started). */
async function sessions(url: string): Promise<{ pid: number; query: string; query_start: string }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ pid: number; query: string; query_start: string }>(
      "SELECT pid, query, query_start::text AS query_start FROM pg_stat_activity WHERE application_name = 'windsock-leader-test-singleton' ORDER BY backend_start",
    );
    return r.rows;
  } finally {
    await c.end();
  }
}

function contender(url: string, log: string, id: string, intervalMs = INTERVAL_MS): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', child, url, log, id, String(intervalMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Every ACT line comes from the leader elected most recently, and no one acts between two leaders. */
function assertSingleLeader(lines: Line[]) {
  let leader: string | undefined;
  const alive = new Set<string>();
  for (const l of lines) {
    if (l.what === 'ELECTED') {
      assert.ok(leader === undefined || !alive.has(leader), `${l.id} elected at ${l.t} while ${leader} still leads`);
      leader = l.id;
      alive.add(l.id);
    } else if (l.what.startsWith('DEPOSED') || l.what === 'KILLED') {
      alive.delete(l.id);
      if (leader === l.id) leader = undefined;
    } else if (l.what === 'ACT') {
      assert.equal(l.id, leader, `${l.id} acted at ${l.t} while the leader was ${leader}`);
    }
  }
}

describe('leader election on a PostgreSQL advisory lock', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const procs: ChildProcess[] = [];
  before(async () => {
    db = await createDatabase('leader');
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await db.drop();
  });

  it('SIGKILL of the leader hands leadership to the other within the interval, never two at once', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'ws-leader-')), 'log');
    const a = contender(db.url, log, 'A');
    procs.push(a);
    await waitFor(
      'A elected',
      () => {
        try {
          return readLog(log).find((l) => l.id === 'A' && l.what === 'ELECTED');
        } catch {
          return undefined;
        }
      },
      STARTUP_MS,
    );
    const [aSession] = await sessions(db.url);
    const aPid = aSession?.pid;
    assert.ok(aPid, "A's lock session is visible");
    const b = contender(db.url, log, 'B');
    procs.push(b);
    let bOut = false;
    b.stdout?.once('data', () => {
      bOut = true;
    });
    await waitFor('B started (it has tried for the lock once)', () => (bOut ? true : undefined), STARTUP_MS);
    // B's campaigns are seen from the database: its session's last query is the lock attempt, and
    // query_start moves on each attempt. Two attempts while A lives, and B is still not elected.
    const bAttempts = new Set<string>();
    await waitFor(
      'B tried for the lock twice more while A leads',
      async () => {
        for (const row of await sessions(db.url)) {
          if (row.pid !== aPid && /pg_try_advisory_lock/.test(row.query)) bAttempts.add(row.query_start);
        }
        return bAttempts.size >= 3 ? true : undefined;
      },
      STARTUP_MS,
    );
    assert.ok(!readLog(log).some((l) => l.id === 'B' && l.what === 'ELECTED'), 'B must not be elected while A lives');

    const killedAt = Date.now();
    a.kill('SIGKILL');
    await new Promise((r) => a.once('exit', r));
    const bElected = await waitFor(
      'B elected',
      () => readLog(log).find((l) => l.id === 'B' && l.what === 'ELECTED'),
      STARTUP_MS,
    );
    assert.ok(bElected.t >= killedAt, 'B elected only after A was killed');
    await waitFor('B acts as the new leader', () =>
      readLog(log).some((l) => l.id === 'B' && l.what === 'ACT' && l.t > bElected.t) ? true : undefined,
    );

    const lines = readLog(log);
    const lastA = Math.max(...lines.filter((l) => l.id === 'A' && l.what === 'ACT').map((l) => l.t));
    assert.ok(lastA <= killedAt, 'A acted after it was killed');
    assertSingleLeader([...lines, { t: killedAt, id: 'A', what: 'KILLED' }].sort((x, y) => x.t - y.t));
    b.kill('SIGKILL');
  });

  it('losing the lock connection deposes the leader at once, before it acts again', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'ws-leader-')), 'log');
    // A long interval: the periodic check cannot be what notices the cut, only the connection can.
    const c = contender(db.url, log, 'C', 3000);
    procs.push(c);
    await waitFor(
      'C elected',
      () => {
        try {
          return readLog(log).find((l) => l.what === 'ELECTED');
        } catch {
          return undefined;
        }
      },
      STARTUP_MS,
    );
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const r = await admin.query(
      "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'windsock-leader-test-singleton'",
    );
    assert.equal(r.rowCount, 1);
    const deposed = await waitFor(
      'C deposed',
      () => readLog(log).find((l) => l.what.startsWith('DEPOSED')),
      STARTUP_MS,
    );
    // Deposed by the connection's own error/end event (at once), not by the next periodic check.
    assert.match(deposed.what, /^DEPOSED lock_connection_(error|closed)/);
    // It campaigns again on a new connection and wins (nobody else holds the lock).
    const reElected = await waitFor(
      'C re-elected',
      () => readLog(log).filter((l) => l.what === 'ELECTED')[1],
      STARTUP_MS,
    );
    assert.ok(reElected.t >= deposed.t);
    assertSingleLeader(readLog(log));
    await admin.end();
    c.kill('SIGKILL');
  });
});
