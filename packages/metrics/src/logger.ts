/** The slice of a pino logger the sinks use (so `@windsock/core`'s logger, or pino itself, fits). */
export interface SinkLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that discards everything (for callers that pass none). */
export const silentLogger: SinkLogger = { info() {}, warn() {}, error() {} };
