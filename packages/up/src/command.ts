import {
  type CommandContext,
  type ConfigSection,
  type ExtraRoute,
  errorMessage,
  type ReadinessResult,
  type Service,
  type WindsockCommand,
} from '@windsock/core';
import type { ServiceCommand } from './index.ts';

/** How one listed service came up. */
interface Member {
  name: string;
  /** The services its command handed to runServices (empty when it failed before). */
  services: Service[];
  /** Why it is not running, when it is not. */
  failed?: string;
  /** The command's run(), resolved after the shared runtime stopped. */
  done?: Promise<unknown>;
}

/** `--format <format>` -> `format`, `--dry-run` -> `dryRun` (commander's attribute name). */
function attributeName(flags: string): string | undefined {
  const long = /--([a-z0-9-]+)/i.exec(flags)?.[1];
  return long?.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** The options a command sees when run with no flags: its declared defaults. */
function defaultOptions(cmd: WindsockCommand): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of cmd.options ?? []) {
    const name = attributeName(o.flags);
    if (name && o.defaultValue !== undefined) out[name] = o.defaultValue;
  }
  return out;
}

/**
 * Runs one service's command with a context whose runServices hands its services over instead of
 * running them; resolves once it has (or once the command failed or returned without doing so).
 */
function collect(ctx: CommandContext, reg: ServiceCommand, stopped: Promise<number>): Promise<Member> {
  const logger = ctx.logger.child({ service: reg.name });
  return new Promise<Member>((resolve) => {
    const member: Member = { name: reg.name, services: [] };
    const child: CommandContext = {
      ...ctx,
      logger,
      options: {},
      args: [],
      runServices: (services) => {
        member.services = services;
        resolve(member);
        return stopped;
      },
    };
    member.done = (async () => {
      const cmd = 'load' in reg ? await reg.load() : reg;
      child.options = defaultOptions(cmd);
      return cmd.run(child);
    })().then(
      (code) => {
        if (member.services.length === 0) {
          member.failed = `its command ended (exit code ${code ?? 0}) without starting a service`;
          resolve(member);
        }
      },
      (err: unknown) => {
        if (member.services.length === 0) {
          member.failed = errorMessage(err);
          resolve(member);
        } else logger.error({ err: errorMessage(err) }, 'service command failed after stopping');
      },
    );
  });
}

/**
 * A service that may fail without taking the others down: a start that throws is logged, reported
 * on /readyz (`<name>.start`) and /status, and the process keeps serving the rest.
 */
class Guarded implements Service {
  failed?: string;
  private started = false;

  constructor(
    private readonly inner: Service | undefined,
    readonly name: string,
    private readonly ctx: CommandContext,
    failed?: string,
  ) {
    if (failed) this.failed = failed;
  }

  async start(): Promise<void> {
    if (this.failed) {
      this.ctx.logger.error({ service: this.name, err: this.failed }, 'service failed to start; the others run on');
      return;
    }
    try {
      await this.inner?.start();
      this.started = true;
    } catch (err) {
      this.failed = errorMessage(err);
      this.ctx.logger.error({ service: this.name, err: this.failed }, 'service failed to start; the others run on');
      // Release what a half-started service holds (connections, timers); its own errors are only logged.
      await this.inner?.stop().catch((e: unknown) => {
        this.ctx.logger.warn({ service: this.name, err: errorMessage(e) }, 'stopping a failed service failed');
      });
    }
  }

  async stop(): Promise<void> {
    if (this.started) await this.inner?.stop();
  }

  async readiness(): Promise<Record<string, ReadinessResult>> {
    if (this.failed) return { start: `failed: ${this.failed}` };
    return (await this.inner?.readiness?.()) ?? {};
  }

  status(): unknown {
    if (this.failed) return { failed: this.failed };
    return this.inner?.status?.() ?? {};
  }

  /** Set by `windsock up` once route conflicts are settled. */
  allowedRoutes?: ExtraRoute[];

  routes(): ExtraRoute[] {
    if (this.allowedRoutes) return this.allowedRoutes;
    return this.failed ? [] : (this.inner?.routes?.() ?? []);
  }
}

/** Route conflicts would stop the HTTP server from listening: the first service keeps the route. */
function dropConflictingRoutes(services: Guarded[], ctx: CommandContext): void {
  const taken = new Set(['/healthz', '/readyz', '/metrics', '/status'].map((u) => `GET ${u}`));
  for (const s of services) {
    const mine: ExtraRoute[] = [];
    for (const r of s.routes()) {
      const key = `${r.method} ${r.url}`;
      if (taken.has(key)) {
        ctx.logger.error({ service: s.name, route: key }, 'route already served by another service: not added');
        continue;
      }
      taken.add(key);
      mine.push(r);
    }
    s.allowedRoutes = mine;
  }
}

/** `windsock up`: built from the registrations of the services it may run. */
export function upCommand(section: ConfigSection, registrations: readonly ServiceCommand[]): WindsockCommand {
  return {
    name: 'up',
    summary: 'run the services listed in the `services` config key in one process (one HTTP port, one shutdown)',
    configSection: section,
    run: async (ctx) => {
      const names = (ctx.config as unknown as { services: string[] }).services;
      if (names.length === 0) {
        ctx.stderr.write(
          `windsock: error: no services to run: set services (WINDSOCK_SERVICES), e.g. ${registrations
            .slice(0, 2)
            .map((r) => r.name)
            .join(',')}\n`,
        );
        return 2;
      }
      let finish!: (code: number) => void;
      const stopped = new Promise<number>((r) => {
        finish = r;
      });
      const byName = new Map(registrations.map((r) => [r.name, r]));
      const members = await Promise.all(names.map((n) => collect(ctx, byName.get(n) as ServiceCommand, stopped)));
      const guarded: Guarded[] = members.flatMap((m) =>
        m.failed ? [new Guarded(undefined, m.name, ctx, m.failed)] : m.services.map((s) => new Guarded(s, s.name, ctx)),
      );
      ctx.logger.info(
        { services: names, running: guarded.filter((g) => !g.failed).map((g) => g.name) },
        'windsock up: starting services',
      );
      dropConflictingRoutes(guarded, ctx);
      const code = await ctx.runServices(guarded);
      finish(code);
      // Each command finishes after its services stopped (closing what it opened around them).
      await Promise.all(members.map((m) => m.done));
      const failed = guarded.filter((g) => g.failed);
      if (failed.length > 0) {
        ctx.logger.error({ failed: failed.map((g) => ({ service: g.name, err: g.failed })) }, 'services that failed');
        return code || 1;
      }
      return code;
    },
  };
}
