import { scrub, UserError } from '@windsock/core';

/**
 * Connect to the metadb and run `SELECT 1`; throws a one-line {@link UserError} naming the (scrubbed)
 * URL, what failed and what to check. Used by `windsock config check` and at service start-up.
 */
export async function checkMetadb(url: string, timeoutMs = 5000): Promise<{ serverVersion: string }> {
  // pg is loaded on use: most commands never talk to the metadb.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const r = await client.query<{ v: string }>('SHOW server_version');
    return { serverVersion: r.rows[0]?.v ?? 'unknown' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` (${e.message})` : ''}` : e.message;
    throw new UserError(
      `cannot reach the metadb at ${scrub(url)}: ${why}. Check airflow.databaseUrl (or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN), the network path and the credentials`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
