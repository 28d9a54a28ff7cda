/**
 * The one thing Windsock needs from a PostgreSQL connection: `pg.Client`, `pg.Pool`, a `PoolClient`
 * and PGlite all fit, so the same queries run on the real server and on the embedded one.
 */
export interface MetadbClient {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** A client that can also run a multi-statement script (PGlite's `exec`; `pg` runs scripts via `query`). */
export type ScriptClient = MetadbClient & { exec?: (sql: string) => Promise<unknown> };

/** Runs a multi-statement SQL script: PGlite needs `exec` (its `query` takes one statement), `pg` takes it whole. */
export async function runScript(client: ScriptClient, sql: string): Promise<void> {
  if (typeof client.exec === 'function') {
    await client.exec(sql);
    return;
  }
  await client.query(sql);
}
