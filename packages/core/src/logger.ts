import { type Logger, type LoggerOptions, pino } from 'pino';
import { scrub } from './redact.ts';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Service or component name, written as `service` on every line. */
  name: string;
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  level?: string;
  /** Where lines go; defaults to stderr so stdout stays free for `--format json` output. */
  destination?: NodeJS.WritableStream;
  /** Extra fields on every line (cluster, version, ...). */
  base?: Record<string, unknown>;
}

/**
 * A structured JSON logger (pino) whose every output line is scrubbed of secrets: URL passwords,
 * `password=` pairs and values registered with `registerSecret`, wherever they appear (message,
 * fields, serialized errors).
 *
 * @example
 * const log = createLogger({ name: 'queue-depth', level: 'info' });
 * log.info({ queue: 'default' }, 'poll finished');
 */
export function createLogger(opts: CreateLoggerOptions): Logger {
  const target = opts.destination ?? process.stderr;
  // A plain object with write(): pino calls it synchronously, so nothing is buffered past a crash.
  const scrubbing = { write: (line: string) => target.write(scrub(line)) };
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { service: opts.name, pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization'],
      censor: '***',
    },
  };
  return pino(options, scrubbing as unknown as NodeJS.WritableStream);
}

/** A logger that writes nothing; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

let warningLogger: Logger | undefined;
function logWarning(warning: Error): void {
  const code = (warning as NodeJS.ErrnoException).code;
  warningLogger?.warn(
    { warning: { name: warning.name, ...(code ? { code } : {}), message: warning.message } },
    `process warning: ${warning.name}: ${warning.message.split('\n')[0]}`,
  );
}

/**
 * Sends Node's process warnings (deprecations, experimental features, and those dependencies emit,
 * such as a cloud SDK's NodeVersionSupportWarning) to `logger` as JSON lines at level warn, instead
 * of Node's plain-text lines on stderr, which would break the JSON log stream. Node's own printer
 * is removed; a later call switches the logger (the CLI's start-up logger, then the command's).
 */
export function routeProcessWarnings(logger: Logger): void {
  warningLogger = logger;
  if (process.listeners('warning').includes(logWarning)) return;
  process.removeAllListeners('warning');
  process.on('warning', logWarning);
}
