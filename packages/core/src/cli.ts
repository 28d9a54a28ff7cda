import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { Registry } from 'prom-client';
import type { CommandContext, CommandOption, CommandRegistration, WindsockCommand } from './command.ts';
import { configLeaves, loadConfig } from './config/load.ts';
import { effectiveConfig, renderEffectiveConfig } from './config/print.ts';
import { renderReference, spliceReference } from './config/reference.ts';
import { buildSchema, type ConfigSection, flattenSections } from './config/schema.ts';
import { errorMessage, UserError } from './errors.ts';
import { Runtime } from './lifecycle.ts';
import { createLogger, routeProcessWarnings } from './logger.ts';

/** Options of {@link runCli}. */
export interface RunCliOptions {
  version: string;
  /** The program's line at the top of `windsock --help`. */
  description?: string;
  /** Loaded commands, or registrations whose code is loaded only when they are run. */
  commands: ReadonlyArray<WindsockCommand | CommandRegistration>;
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

const COMMON: CommandOption[] = [
  { flags: '-c, --config <file>', description: 'YAML config file (default: $WINDSOCK_CONFIG)' },
  { flags: '--log-level <level>', description: 'log level (trace, debug, info, warn, error)', configKey: 'logLevel' },
];

function parseOption(o: CommandOption, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (o.parse === 'list')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  // 'number': the loader coerces text by the key's type and names the flag when it is not a number.
  return v;
}

function isRegistration(c: WindsockCommand | CommandRegistration): c is CommandRegistration {
  return typeof (c as CommandRegistration).load === 'function';
}

/**
 * The registration that `args` (argv after the script) runs or asks help for: the one whose name's
 * words lead the arguments (`help <name>` too). Commander dispatches to a subcommand only when it
 * is the first argument, so no option can come before it.
 */
function invokedRegistration(
  commands: ReadonlyArray<WindsockCommand | CommandRegistration>,
  args: readonly string[],
): CommandRegistration | undefined {
  const words = args[0] === 'help' ? args.slice(1) : args;
  let best: CommandRegistration | undefined;
  for (const c of commands) {
    if (!isRegistration(c)) continue;
    const parts = c.name.split(' ');
    if (parts.every((w, i) => words[i] === w) && parts.length > (best?.name.split(' ').length ?? 0)) best = c;
  }
  return best;
}

async function load(reg: CommandRegistration): Promise<WindsockCommand> {
  const cmd = await reg.load();
  for (const [what, ok] of [
    ['name', cmd.name === reg.name],
    ['summary', cmd.summary === reg.summary],
    ['arguments', cmd.arguments === reg.arguments],
    ['config section', cmd.configSection === undefined || cmd.configSection === reg.configSection],
  ] as const) {
    if (!ok) throw new Error(`internal: the registration of '${reg.name}' does not match its command's ${what}`);
  }
  return cmd;
}

/**
 * The `windsock` CLI: registers every command, loads the one config (sections of all commands), and
 * turns a `UserError` into one line on stderr and an exit code instead of a stack trace. Of the
 * commands given as registrations only the one being run is loaded.
 * Resolves with the process exit code.
 */
export async function runCli(opts: RunCliOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv;
  // The real process (not a test's in-process run): Node's warnings become JSON log lines.
  const ownsProcess = opts.stderr === undefined;
  if (ownsProcess) routeProcessWarnings(createLogger({ name: 'windsock' }));
  const sections: ConfigSection[] = opts.commands.flatMap((c) => (c.configSection ? [c.configSection] : []));
  const program = new Command('windsock')
    .description(opts.description ?? '')
    .version(opts.version)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => stdout.write(s),
      writeErr: (s) => stderr.write(s),
      // Commander's own errors (unknown option, missing argument) in the CLI's one-line format.
      outputError: (s, write) => write(`windsock: ${s.trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`),
    });

  let exitCode = 0;
  const subcommand = (name: string, summary: string): Command => {
    const parts = name.split(' ');
    let parent = program;
    for (const p of parts.slice(0, -1)) {
      parent = parent.commands.find((c) => c.name() === p) ?? parent.command(p).description(`${p} commands`);
    }
    return parent.command(parts[parts.length - 1] as string).description(summary);
  };
  const register = (cmd: WindsockCommand): void => {
    const sub = subcommand(cmd.name, cmd.summary);
    if (cmd.arguments) sub.arguments(cmd.arguments);
    for (const o of [...COMMON, ...(cmd.options ?? [])]) {
      const opt = new Option(o.flags, o.description);
      if (o.defaultValue !== undefined) opt.default(o.defaultValue);
      sub.addOption(opt);
    }
    sub.action(async (...actionArgs: unknown[]) => {
      const command = actionArgs[actionArgs.length - 1] as Command;
      const options = command.opts() as Record<string, unknown>;
      const flags: Record<string, unknown> = {};
      const flagNames: Record<string, string> = {};
      for (const o of [...COMMON, ...(cmd.options ?? [])]) {
        if (!o.configKey) continue;
        const opt = new Option(o.flags);
        const name = opt.attributeName();
        if (options[name] !== undefined && command.getOptionValueSource(name) !== 'default') {
          flags[o.configKey] = parseOption(o, options[name]);
          flagNames[o.configKey] = opt.long ?? opt.short ?? o.flags;
        }
      }
      const loaded = loadConfig({ sections, env, flags, flagNames, file: options.config as string | undefined });
      const config = loaded.config as CommandContext['config'];
      const logger = createLogger({
        name: cmd.name.replace(/ /g, '-'),
        level: config.logLevel,
        base: { cluster: config.cluster },
      });
      if (ownsProcess) routeProcessWarnings(logger);
      const registry = new Registry();
      const ctx: CommandContext = {
        config,
        loaded,
        logger,
        registry,
        options,
        args: command.args,
        stdout,
        stderr,
        runServices: (services) =>
          new Runtime({ logger, registry, http: config.http, shutdownGraceSeconds: config.shutdownGraceSeconds }).run(
            services,
          ),
      };
      exitCode = (await cmd.run(ctx)) ?? 0;
    });
  };
  /** A command not being run: only what the command list of `windsock --help` shows. */
  const registerUnloaded = (reg: CommandRegistration): void => {
    const sub = subcommand(reg.name, reg.summary);
    if (reg.arguments) sub.arguments(reg.arguments);
    for (const o of COMMON) sub.addOption(new Option(o.flags, o.description));
    sub.action(() => {
      throw new Error(`internal: '${reg.name}' was run without being loaded`);
    });
  };

  try {
    const invoked = invokedRegistration(opts.commands, argv.slice(2));
    for (const cmd of [...builtinCommands(sections), ...opts.commands]) {
      if (!isRegistration(cmd)) register(cmd);
      else if (cmd === invoked) register(await load(cmd));
      else registerUnloaded(cmd);
    }
    const unknown = unknownCommand(program, argv.slice(2));
    if (unknown) {
      stderr.write(`windsock: error: unknown command '${unknown}' (windsock --help lists the commands)\n`);
      return 2;
    }
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UserError) {
      stderr.write(`windsock: error: ${err.message}\n`);
      return err.exitCode;
    }
    stderr.write(
      `windsock: unexpected error: ${errorMessage(err)} (please report it; run with --log-level debug for details)\n`,
    );
    if (env.WINDSOCK_DEBUG_STACK) stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}

/**
 * The command word in `args` that names no command, if any: commander answers `windsock nosuch
 * --help` with the general help and exit 0, as if the command existed. Words are followed down
 * command groups (`config print`); a command's own arguments are not looked at.
 */
function unknownCommand(program: Command, args: readonly string[]): string | undefined {
  let words = args;
  if (words[0] === 'help') words = words.slice(1);
  let parent: Command = program;
  for (const word of words) {
    if (word.startsWith('-') || parent.commands.length === 0) return undefined;
    const next = parent.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!next) return [...args.slice(0, args.indexOf(word)).filter((w) => w !== 'help'), word].join(' ');
    parent = next;
  }
  return undefined;
}

/** `config print` and `config reference`, which need every section. */
function builtinCommands(sections: ConfigSection[]): WindsockCommand[] {
  return [
    {
      name: 'config print',
      summary: 'show the effective configuration, secrets redacted, and where each value came from',
      options: [{ flags: '--format <format>', description: 'text or json', defaultValue: 'text' }],
      run: async (ctx) => {
        const rows = effectiveConfig(ctx.loaded);
        ctx.stdout.write(
          ctx.options.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderEffectiveConfig(rows),
        );
        return 0;
      },
    },
    {
      name: 'config check',
      summary: 'validate the configuration and check that what it points at answers (e.g. the metadb)',
      run: async (ctx) => {
        const { used, own } = flattenSections(sections);
        const lines: string[] = [];
        for (const s of [...used, ...own]) {
          if (s.check) lines.push(await s.check(ctx.config as unknown as Record<string, unknown>));
        }
        ctx.stdout.write(`config OK${lines.length ? `; ${lines.join('; ')}` : ''}\n`);
        return 0;
      },
    },
    {
      name: 'config reference',
      summary: "print the configuration reference (markdown) generated from the schema, or update/check the README's",
      options: [
        { flags: '--write <readme>', description: 'replace the generated block in this README' },
        { flags: '--check <readme>', description: 'exit 1 when the README block is out of date' },
      ],
      run: async (ctx) => {
        const ref = renderReference(configLeaves(buildSchema(sections)));
        const target = (ctx.options.write ?? ctx.options.check) as string | undefined;
        if (!target) {
          ctx.stdout.write(ref);
          return 0;
        }
        const readme = readFileSync(target, 'utf8');
        const next = spliceReference(readme, ref);
        if (ctx.options.write) {
          writeFileSync(target, next);
          return 0;
        }
        if (next !== readme) {
          ctx.stderr.write(`${target}: configuration reference is out of date; run npm run docs:config\n`);
          return 1;
        }
        return 0;
      },
    },
  ];
}
