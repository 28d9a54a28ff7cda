import type { Registry } from 'prom-client';
import { errorMessage } from './errors.ts';
import { type ExtraRoute, type ReadinessResult, StatusServer } from './http.ts';
import type { Logger } from './logger.ts';

/** A long-running part of a process: a poller, a tailer, a shipper. */
export interface Service {
  readonly name: string;
  /** Begin work. Throw a `UserError` when a dependency is unusable at start-up. */
  start(): Promise<void>;
  /** Stop taking work, finish or hand back what is in flight, flush sinks, write checkpoints. */
  stop(): Promise<void>;
  /** Dependency checks for `/readyz`: `{ metadb: true, broker: 'connection refused' }`. */
  readiness?(): Promise<Record<string, ReadinessResult>>;
  /** JSON state for `/status`. */
  status?(): unknown;
  /** Extra HTTP routes (JSON APIs, pages, mutating endpoints). */
  routes?(): ExtraRoute[];
}

/** Options of {@link Runtime}. */
export interface RuntimeOptions {
  logger: Logger;
  registry: Registry;
  http: { enabled: boolean; host: string; port: number; token?: string | undefined };
  /** Seconds between SIGTERM and a forced exit. */
  shutdownGraceSeconds: number;
  /** Install SIGTERM/SIGINT handlers (off in tests that drive stop() directly). */
  handleSignals?: boolean;
}

/**
 * Runs services in one process: starts them, serves the HTTP endpoints, and on SIGTERM/SIGINT stops
 * taking work, lets each service flush and checkpoint, and exits within the grace period.
 *
 * @example
 * const rt = new Runtime({ logger, registry, http: config.http, shutdownGraceSeconds: 25 });
 * const code = await rt.run([poller]);   // resolves after SIGTERM with the exit code
 */
export class Runtime {
  private services: Service[] = [];
  private server?: StatusServer;
  private isStopping = false;
  private readonly startedAt = Date.now();
  private done!: (code: number) => void;
  private readonly finished = new Promise<number>((r) => {
    this.done = r;
  });

  constructor(private readonly opts: RuntimeOptions) {}

  /** Start the services and the HTTP server; resolves with the exit code once stopped. */
  async run(services: Service[]): Promise<number> {
    await this.start(services);
    return this.finished;
  }

  /** Start without waiting (tests); pair with {@link stop}. */
  async start(services: Service[]): Promise<void> {
    const { logger } = this.opts;
    this.services = services;
    if (this.opts.handleSignals !== false) {
      const onSignal = (sig: NodeJS.Signals) => {
        logger.info({ signal: sig }, 'signal received: stopping');
        void this.stop(sig);
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    }
    if (this.opts.http.enabled) {
      this.server = new StatusServer({
        host: this.opts.http.host,
        port: this.opts.http.port,
        token: this.opts.http.token,
        registry: this.opts.registry,
        logger,
        provider: {
          stopping: () => this.isStopping,
          readiness: () => this.readiness(),
          status: () => this.status(),
        },
      });
      for (const s of services) for (const r of s.routes?.() ?? []) this.server.route(r);
      await this.server.listen();
    }
    for (const s of services) {
      try {
        await s.start();
      } catch (err) {
        await this.server?.close();
        throw err;
      }
      logger.info({ component: s.name }, 'service started');
    }
  }

  /** The HTTP server's base URL (when enabled). */
  url(): string | undefined {
    return this.server?.url();
  }

  /** Stop every service within the grace period; resolves with the exit code (0 clean, 1 not). */
  async stop(reason = 'stop'): Promise<number> {
    if (this.isStopping) return this.finished;
    this.isStopping = true;
    const { logger } = this.opts;
    const graceMs = this.opts.shutdownGraceSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), graceMs);
    });
    const stops = Promise.allSettled(
      this.services.map(async (s) => {
        try {
          await s.stop();
        } catch (err) {
          logger.error({ component: s.name, err: errorMessage(err) }, 'service failed to stop cleanly');
          throw err;
        }
      }),
    );
    const outcome = await Promise.race([stops, timeout]);
    clearTimeout(timer);
    let code = 0;
    if (outcome === 'timeout') {
      logger.error(
        { graceSeconds: this.opts.shutdownGraceSeconds, reason },
        'shutdown grace period exceeded: exiting anyway',
      );
      code = 1;
    } else if (outcome.some((o) => o.status === 'rejected')) {
      code = 1;
    }
    await this.server?.close().catch(() => undefined);
    logger.info({ reason, code, uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000) }, 'stopped');
    this.done(code);
    return code;
  }

  private async readiness(): Promise<Record<string, ReadinessResult>> {
    const out: Record<string, ReadinessResult> = {};
    await Promise.all(
      this.services.map(async (s) => {
        if (!s.readiness) return;
        try {
          for (const [k, v] of Object.entries(await s.readiness())) out[`${s.name}.${k}`] = v;
        } catch (err) {
          out[s.name] = errorMessage(err);
        }
      }),
    );
    return out;
  }

  private status(): Record<string, unknown> {
    const services: Record<string, unknown> = {};
    for (const s of this.services) services[s.name] = s.status?.() ?? {};
    return { uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000), stopping: this.isStopping, services };
  }
}
