import type { UnparsedReason } from './types.ts';

/** The line Python prints to open a traceback. */
export const TRACEBACK_LINE = 'Traceback (most recent call last):';
const CHAIN_CONTEXT = 'During handling of the above exception, another exception occurred:';
const CHAIN_CAUSE = 'The above exception was the direct cause of the following exception:';

// `module.ExcName: message`, `ExcName:` or a bare `KeyboardInterrupt`: the last line of a traceback.
const EXCEPTION_LINE = /^[A-Za-z_][\w.]*(?::(?: |$)|$)/;
const ACCESS_LOG = /^\S+ - \S+ \[[^\]]+\] "/;

/** Where a traceback stands inside the record being assembled. */
export interface TracebackState {
  tracebacks: number;
  /** A `Traceback` line was seen and its exception line has not come yet. */
  inTraceback: boolean;
  /** The last significant line was a chain separator: the next `Traceback` belongs to the same chain. */
  chained: boolean;
  /** After the exception line: Python prints the rest of a multi-line exception message unindented. */
  inExceptionMessage: boolean;
  /** Inside SQLAlchemy's `[SQL: ...]` block, which spans lines until its closing `]`. */
  inSql: boolean;
}

/** True for `Traceback (most recent call last):`, plain or inside a rich box (`╭─── Traceback ... ───╮`). */
export function isTracebackStart(line: string): boolean {
  if (line.startsWith(TRACEBACK_LINE)) return true;
  return isBoxDrawing(line.charCodeAt(0)) && line.indexOf('Traceback (most recent call last)') !== -1;
}

function isBoxDrawing(code: number): boolean {
  return code >= 0x2500 && code <= 0x257f;
}

/** A separator line: 3+ of `-`, `=`, `*` or `_` and nothing else (Airflow's 80-dash attempt banner). */
function isBanner(line: string): boolean {
  const first = line.charCodeAt(0);
  if (first !== 45 && first !== 61 && first !== 42 && first !== 95) return false;
  let n = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === first) n++;
    else if (c !== 32) return false;
  }
  return n >= 3;
}

/**
 * Decide whether a non-header, non-blank line continues the open record, updating its traceback state.
 *
 * A continuation line is one of: an indented line (tab or space: TaskInstance lists, traceback frames and
 * source, SQL bodies); `Traceback (most recent call last):`; a chained-traceback separator ("During
 * handling of the above exception ..." / "The above exception was the direct cause ..."); inside a
 * traceback, the exception line and the unindented rest of its message up to the next blank line;
 * SQLAlchemy's `[SQL: ...]` and `[parameters: ...]` (through the line that closes the `]`, since
 * statements span lines), `(Background on this error at: ...)`; a banner of
 * dashes; a rich-traceback box line.
 */
export function continuesRecord(line: string, state: TracebackState): boolean {
  const c = line.charCodeAt(0);
  if (state.inSql) {
    if (line.trimEnd().endsWith(']')) state.inSql = false;
    return true;
  }
  if (c === 9 || c === 32) return true;
  if (isTracebackStart(line)) {
    if (!state.chained) state.tracebacks++;
    state.inTraceback = true;
    state.chained = false;
    state.inExceptionMessage = false;
    return true;
  }
  if (line === CHAIN_CONTEXT || line === CHAIN_CAUSE) {
    state.chained = true;
    state.inTraceback = false;
    state.inExceptionMessage = false;
    return true;
  }
  if (state.inTraceback && EXCEPTION_LINE.test(line)) {
    state.inTraceback = false;
    state.inExceptionMessage = true;
    return true;
  }
  // Message lines run on until a blank line, but a UI `***` header or an access-log line is never one.
  if (state.inExceptionMessage) return line.charCodeAt(0) !== 42 && !ACCESS_LOG.test(line);
  if (c === 91 && (line.startsWith('[SQL: ') || line.startsWith('[parameters: '))) {
    state.inSql = !line.trimEnd().endsWith(']');
    return true;
  }
  if (c === 40 && line.startsWith('(Background on this error at:')) return true;
  if (isBanner(line)) return true;
  return isBoxDrawing(c);
}

/** Why a line that is neither header nor continuation is unparsed: UI `***` headers, access logs, or text. */
export function unparsedReason(line: string): UnparsedReason {
  if (line.startsWith('***')) return 'ui-header';
  if (ACCESS_LOG.test(line)) return 'access-log';
  return 'text';
}
