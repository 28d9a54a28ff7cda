import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import { scrubDeep } from './redact.ts';

/** Result of one dependency check: `true` when reachable, otherwise what is wrong. */
export type ReadinessResult = true | string;

/** What the HTTP server asks the running services. */
export interface StatusProvider {
  readiness(): Promise<Record<string, ReadinessResult>>;
  status(): Record<string, unknown>;
  stopping(): boolean;
}

/** Options of {@link StatusServer}. */
export interface StatusServerOptions {
  host: string;
  port: number;
  /** Bearer token for mutating routes; without it they answer 403. */
  token?: string;
  registry: Registry;
  provider: StatusProvider;
  logger: Logger;
}

/** A route a service adds to the process's HTTP server. */
export interface ExtraRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** Mutating routes require `Authorization: Bearer <http.token>`. */
  mutating?: boolean;
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;
}

/**
 * One small HTTP server per process: `/healthz` (the process runs), `/readyz` (its dependencies
 * answer), `/metrics` (Prometheus text), `/status` (JSON of each service's state, secrets scrubbed).
 *
 * @example
 * const srv = new StatusServer({ host: '127.0.0.1', port: 9464, registry, provider, logger });
 * await srv.listen();
 */
export class StatusServer {
  private app?: FastifyInstance;
  private readonly routes: ExtraRoute[] = [];
  private address = '';

  constructor(private readonly opts: StatusServerOptions) {}

  /** Add a route; call before {@link listen}. */
  route(r: ExtraRoute): void {
    this.routes.push(r);
  }

  /** Start listening; returns the bound `host:port`. */
  async listen(): Promise<string> {
    // Fastify is loaded here, not at import: commands that serve no HTTP (`--once`) never pay for it.
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false });
    this.app = app;
    const { provider, registry, token } = this.opts;
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      if (provider.stopping()) return reply.code(503).send({ ready: false, reason: 'shutting down' });
      const checks = await provider.readiness();
      const ready = Object.values(checks).every((c) => c === true);
      return reply.code(ready ? 200 : 503).send(scrubDeep({ ready, checks }));
    });
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
    app.get('/status', async () => scrubDeep(provider.status()));
    for (const r of this.routes) {
      app.route({
        method: r.method,
        url: r.url,
        handler: async (req, reply) => {
          if (r.mutating && !authorized(req.headers.authorization, token)) {
            return reply.code(token ? 401 : 403).send({
              error: token ? 'missing or wrong bearer token' : 'mutating endpoints are disabled: set http.token',
            });
          }
          return r.handler(req, reply);
        },
      });
    }
    this.address = await app.listen({ host: this.opts.host, port: this.opts.port });
    this.opts.logger.info({ address: this.address }, 'http server listening');
    return this.address;
  }

  /** The bound URL, e.g. `http://127.0.0.1:9464`. */
  url(): string {
    return this.address;
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}

function authorized(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
