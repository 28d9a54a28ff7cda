import type { Registry } from 'prom-client';
import type { LoadedConfig } from './config/load.ts';
import type { BaseConfig, ConfigSection } from './config/schema.ts';
import type { Service } from './lifecycle.ts';
import type { Logger } from './logger.ts';

/** A command-line option of a command; `configKey` maps it onto the config (flags win over env and file). */
export interface CommandOption {
  /** commander syntax: `--database-url <url>`, `--once`, `--queues <list>`. */
  flags: string;
  description: string;
  /** Dotted config key the value overrides, e.g. `http.port`. */
  configKey?: string;
  /** How to turn the text into the config value (default: as the schema's type). */
  parse?: 'list' | 'number' | 'boolean';
  defaultValue?: string | boolean;
}

/** What a command's `run` receives. */
// biome-ignore lint/suspicious/noExplicitAny: a command casts `config` to its own sections' type
export interface CommandContext<C = Record<string, any>> {
  /** The effective config (base + every registered section). */
  config: BaseConfig & C;
  loaded: LoadedConfig;
  logger: Logger;
  /** The process's Prometheus registry (served at /metrics). */
  registry: Registry;
  /** Parsed options by camelCase name (`once`, `format`, ...), including unmapped ones. */
  options: Record<string, unknown>;
  /** Positional arguments. */
  args: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Run services under the lifecycle (HTTP server, signals, grace); resolves with the exit code. */
  runServices(services: Service[]): Promise<number>;
}

/**
 * A `windsock` subcommand. Services export these; the CLI registers them.
 * A name with a space (`heartbeat check`) is a nested subcommand.
 */
export interface WindsockCommand {
  name: string;
  summary: string;
  /** `[files...]` style positional arguments. */
  arguments?: string;
  options?: CommandOption[];
  /** The service's config section; every registered section is part of the one schema. */
  configSection?: ConfigSection;
  /** Returns the exit code (default 0). */
  run(ctx: CommandContext): Promise<number | undefined>;
}

/**
 * A command registered without loading its code: what `windsock --help` and the one config schema
 * need, plus `load` for the rest. The CLI calls `load` only for the command being run (or whose
 * help is asked for), so one command's dependencies (database drivers, cloud SDK clients, PGlite)
 * cost the others nothing. Declare it in a module that imports no more than the config section.
 *
 * @example
 * export const commands: CommandRegistration[] = [{
 *   name: 'queue-depth', summary: 'publish queue depth', configSection: queueDepthSection,
 *   load: async () => (await import('./command.ts')).queueDepthCommand,
 * }];
 */
export interface CommandRegistration {
  name: string;
  /** The line in `windsock --help`; the loaded command's own summary must be the same. */
  summary: string;
  /** As the loaded command's: shown in `windsock --help` before anything is loaded. */
  arguments?: string;
  configSection?: ConfigSection;
  /** The whole command (options, run); its name must be this registration's. */
  load(): Promise<WindsockCommand>;
}
