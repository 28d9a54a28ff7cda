import { scrub } from './redact.ts';

/**
 * An error a user can act on: printed as one line (no stack trace) by the CLI, with an exit code.
 * Exit codes: 2 = bad configuration or usage, 1 = a dependency failed at start-up.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(scrub(message));
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** A configuration value is missing or wrong; the message names the key, the problem and a good value. */
export class ConfigError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

/** The message of any thrown value, scrubbed of secrets. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err.message || String(err);
    return scrub(code && !msg.includes(code) ? `${msg} (${code})` : msg);
  }
  return scrub(String(err));
}
