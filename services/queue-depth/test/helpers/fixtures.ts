/** What the queue-depth tests share: the README's read-only role, a recording sink, captured logs. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@windsock/core';
import type { FlushReport, MetricDatum, MetricSink } from '@windsock/metrics';
import pg from 'pg';

/** The GRANT statements of the README, verbatim. */
export function readmeGrants(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = readme.split('<!-- grants:start -->')[1]?.split('<!-- grants:end -->')[0];
  const sql = block?.split('```sql')[1]?.split('```')[0];
  if (!sql) throw new Error('README has no grants block');
  return sql.trim();
}

/**
 * Creates the README's read-only role (with a unique name and password) on the database behind
 * `adminUrl`, running the README's statements with only the names substituted. Returns a URL that
 * logs in as that role, and a drop function.
 */
export async function readOnlyRole(
  adminUrl: string,
): Promise<{ url: string; role: string; drop: () => Promise<void> }> {
  const u = new URL(adminUrl);
  const database = u.pathname.slice(1);
  const role = `windsock_ro_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(9).toString('hex');
  const sql = readmeGrants()
    .replaceAll('windsock_ro', role)
    .replace("'change-me'", `'${password}'`)
    .replace('ON DATABASE airflow', `ON DATABASE ${database}`);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(sql);
  await admin.end();
  u.username = role;
  u.password = password;
  return {
    url: u.toString(),
    role,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await c.end();
    },
  };
}

/** A sink that keeps every datum written to it, with the wall time it arrived. */
export class RecordingSink implements MetricSink {
  readonly name = 'recording';
  readonly writes: { atMs: number; datum: MetricDatum }[] = [];
  write(datums: readonly MetricDatum[]): void {
    const atMs = Date.now();
    for (const datum of datums) this.writes.push({ atMs, datum });
  }
  async flush(): Promise<FlushReport> {
    return { sink: this.name, sent: 0, pending: 0, dropped: 0, requests: 0, retries: 0, errors: [] };
  }
  async close(): Promise<void> {}
  /** Datums written at or after `sinceMs`, optionally of one name. */
  since(sinceMs: number, name?: string): MetricDatum[] {
    return this.writes.filter((w) => w.atMs >= sinceMs && (!name || w.datum.name === name)).map((w) => w.datum);
  }
}

/** A logger whose JSON lines are kept for assertions. */
export function capturedLogger(name = 'queue-depth'): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      text.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ name, level: 'info', destination });
  return {
    logger,
    lines: () =>
      text
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
