/**
 * An embedded PostgreSQL for newcomers with nothing installed: PGlite (Postgres compiled to WASM)
 * served over the real wire protocol by pglite-socket, so the simulator and every service reach it
 * through the same `pg` client code path as a real server.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A running embedded server. */
export interface EmbeddedPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (no password: loopback only). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts PGlite in memory (or in `dataDir`) and serves it on loopback.
 *
 * @example const pgUrl = (await startEmbeddedPostgres()).url
 */
export async function startEmbeddedPostgres(opts: { port?: number; dataDir?: string } = {}): Promise<EmbeddedPostgres> {
  const db = opts.dataDir ? await PGlite.create(opts.dataDir) : await PGlite.create();
  // PGlite runs one query at a time; the server queues statements of several connections.
  const server = new PGLiteSocketServer({ db, port: opts.port ?? 0, host: '127.0.0.1', maxConnections: 16 });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.split(':').pop());
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
