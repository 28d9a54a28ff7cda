/**
 * Byte-level classification of the lines that cannot count: the fast path of log counting.
 *
 * Almost every line of a busy cluster's scheduler, worker and task logs is an INFO header whose
 * message no counter reads. {@link quietHeaderAt} recognises such a line in the raw bytes, without
 * building a string, exactly as {@link recogniseHeader} + {@link extractEvents} would judge it:
 * a 2.x `[ts] {file.py:NN} INFO - msg` or Celery `[ts: INFO/Process] msg` header (DEBUG too) whose
 * message starts with none of {@link EVENT_MESSAGE_PREFIXES} and which holds none of
 * {@link EVENT_MESSAGE_MARKERS}. Such a line opens a record that counts nothing unless a continuation
 * line follows (a traceback, a queued-TI list), which the record assembler handles exactly
 * (`RecordAssembler.pushQuiet`). Anything else (other levels, other formats, ANSI escapes, NUL bytes,
 * task-logger `name[id]: ` lines) is left to the full grammar.
 */

/**
 * Message starts that may tell an event (see events.ts: every branch of `extractEvents` keyed on the
 * message's start). A message that starts with one of these goes through the full grammar.
 */
export const EVENT_MESSAGE_PREFIXES: readonly string[] = [
  'Sending ',
  'Setting the following tasks to queued state:',
  'Adding to queue: ',
  'Trying to enqueue tasks: ',
  'TaskInstance Finished: ',
  'Task Finished: ',
  'Task finished',
  // Celery's `Task name[id] ...` is matched by shape (see eventStart), not by a prefix.
  'Received executor event',
  'Executor ',
  'WINDSOCK_HEARTBEAT_OK',
];

/** Text that may tell an event wherever it is in the message (`Marking task as X`). */
export const EVENT_MESSAGE_MARKERS: readonly string[] = ['Marking task as '];

/** A quiet header's format and level, as {@link quietHeaderAt} returns it (0: not quiet). */
export const QUIET_AIRFLOW2_INFO = 1;
export const QUIET_AIRFLOW2_DEBUG = 2;
export const QUIET_CELERY_INFO = 3;
export const QUIET_CELERY_DEBUG = 4;
export type QuietKind = 0 | 1 | 2 | 3 | 4;

const PREFIX_BYTES: readonly Buffer[] = EVENT_MESSAGE_PREFIXES.map((p) => Buffer.from(p, 'latin1'));
/** First bytes of the prefixes, for a one-lookup rejection of most messages. */
const PREFIX_FIRST = new Uint8Array(256);
for (const p of PREFIX_BYTES) PREFIX_FIRST[p[0]!] = 1;
PREFIX_FIRST[84] = 1; // `Task name[id]`

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/**
 * First index of byte `c` in `buf[from, end)`, or -1. A plain loop: the bytes looked for here are a
 * few to a few dozen bytes away, where a native `indexOf` call costs more than the scan.
 */
function indexIn(buf: Buffer, c: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === c) return i;
  return -1;
}

/**
 * Celery's `Task <name>[<id>] ...` (events.ts: `^Task ([^\s[]+)\[`): `Task ` and a word that runs
 * into a `[` before any whitespace.
 */
function celeryTaskEvent(buf: Buffer, at: number, end: number): boolean {
  if (
    at + 6 >= end ||
    buf[at] !== 84 ||
    buf[at + 1] !== 97 ||
    buf[at + 2] !== 115 ||
    buf[at + 3] !== 107 ||
    buf[at + 4] !== 32
  )
    return false;
  for (let i = at + 5; i < end; i++) {
    const c = buf[i]!;
    if (c === 91) return i > at + 5;
    if (c === 32 || (c >= 9 && c <= 13)) return false;
    if (c >= 0x80) return true; // a Unicode space would end the word: let the grammar judge
  }
  return false;
}

/**
 * Colour residue a collector left where the message starts (`[32m`, `#033[32m`, `^[[32m`,
 * `\u001b[32m`, ...: see ansi.ts): the message's real start is behind it, so the grammar must read
 * the line. Conservative: any `#`, `^` or `\` start counts as residue.
 */
function residueStart(buf: Buffer, at: number, end: number): boolean {
  const c = buf[at];
  if (c === 35 || c === 94 || c === 92) return true;
  if (c !== 91) return false;
  let i = at + 1;
  while (i < end && ((buf[i]! >= 48 && buf[i]! <= 57) || buf[i] === 59)) i++;
  return buf[i] === 109;
}

/** True when the message at `buf[at, end)` may tell an event by how it starts. */
function eventStart(buf: Buffer, at: number, end: number): boolean {
  if (at >= end) return false;
  if (PREFIX_FIRST[buf[at]!] === 0) return residueStart(buf, at, end);
  for (const p of PREFIX_BYTES) {
    if (buf[at] !== p[0] || at + p.length > end) continue;
    let i = 1;
    while (i < p.length && buf[at + i] === p[i]) i++;
    if (i === p.length) return true;
  }
  return celeryTaskEvent(buf, at, end);
}

/** `INFO` -> 1, `DEBUG` -> 2, anything else 0 (other levels and spellings go to the full grammar). */
function quietLevel(buf: Buffer, from: number, to: number): 0 | 1 | 2 {
  const n = to - from;
  if (n === 4 && buf[from] === 73 && buf[from + 1] === 78 && buf[from + 2] === 70 && buf[from + 3] === 79) return 1;
  if (
    n === 5 &&
    buf[from] === 68 &&
    buf[from + 1] === 69 &&
    buf[from + 2] === 66 &&
    buf[from + 3] === 85 &&
    buf[from + 4] === 71
  )
    return 2;
  return 0;
}

/** A Celery task-logger line's `name[id]: ` (or `???[id]: `) starts at `at`: its message is elsewhere. */
function celeryTaskPrefix(buf: Buffer, at: number, end: number): boolean {
  let i = at;
  while (i < end) {
    const c = buf[i]!;
    const word =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 95 ||
      c === 46 ||
      c === 58 ||
      c === 45 ||
      c === 63;
    if (!word) break;
    i++;
  }
  return i > at && buf[i] === 91;
}

/**
 * Classify the line `buf[start, end)` (no `\n`, no trailing `\r`): a quiet header kind, or 0 when
 * the full grammar must read it. The caller has already ruled out lines holding NUL or ESC bytes
 * and lines holding an {@link EVENT_MESSAGE_MARKERS} text. Reads only the header's bytes and the
 * message's first few, so it costs about as much as finding the line's end.
 */
export function quietHeaderAt(buf: Buffer, start: number, end: number): QuietKind {
  // `[YYYY-`
  if (
    buf[start] !== 91 ||
    !isDigit(buf[start + 1]) ||
    !isDigit(buf[start + 2]) ||
    !isDigit(buf[start + 3]) ||
    !isDigit(buf[start + 4]) ||
    buf[start + 5] !== 45
  )
    return 0;
  const close = indexIn(buf, 93, start + 6, end);
  if (close === -1 || buf[close + 1] !== 32 || close + 1 >= end) return 0;
  const after = close + 2;
  if (buf[after] === 123 && after < end) {
    // `{file.py:NN} LEVEL - msg`; the double-brace MWAA form is left to the grammar.
    if (buf[after + 1] === 123) return 0;
    const loggerEnd = indexIn(buf, 125, after + 1, end);
    if (loggerEnd === -1 || buf[loggerEnd + 1] !== 32 || loggerEnd + 1 >= end) return 0;
    const levelStart = loggerEnd + 2;
    const levelEnd = indexIn(buf, 32, levelStart, end);
    const level = quietLevel(buf, levelStart, levelEnd === -1 ? end : levelEnd);
    if (level === 0) return 0;
    if (levelEnd === -1) return level === 1 ? QUIET_AIRFLOW2_INFO : QUIET_AIRFLOW2_DEBUG;
    if (levelEnd + 1 >= end || buf[levelEnd + 1] !== 45) return 0;
    if (eventStart(buf, levelEnd + 3, end)) return 0;
    return level === 1 ? QUIET_AIRFLOW2_INFO : QUIET_AIRFLOW2_DEBUG;
  }
  // Celery: `[asctime: LEVEL/processName] msg`: the last `: ` before the `]`, then the level up to `/`.
  let colon = -1;
  for (let i = close - 2; i >= start + 6; i--) {
    if (buf[i] === 58 && buf[i + 1] === 32) {
      colon = i;
      break;
    }
  }
  if (colon === -1) return 0;
  const slash = indexIn(buf, 47, colon + 2, end);
  if (slash === -1 || slash > close) return 0;
  const level = quietLevel(buf, colon + 2, slash);
  if (level === 0) return 0;
  if (after < end && celeryTaskPrefix(buf, after, end)) return 0;
  if (eventStart(buf, after, end)) return 0;
  return level === 1 ? QUIET_CELERY_INFO : QUIET_CELERY_DEBUG;
}

/**
 * True when the line `buf[start, end)` joins an open quiet record without changing anything the
 * record counts: an indented line that is not blank (no header, prefix or traceback line starts
 * with a space or tab), or a banner of 3+ dashes (`------...`, Airflow's attempt separator). For such
 * lines `continuesRecord` returns true and changes no traceback state. The caller has ruled out NUL
 * and ESC bytes.
 */
export function quietContinuationAt(buf: Buffer, start: number, end: number): boolean {
  const c = buf[start];
  if (c === 32 || c === 9) {
    for (let i = start + 1; i < end; i++) {
      const d = buf[i]!;
      if (d !== 32 && d !== 9 && d !== 12 && d !== 11) return true;
    }
    return false; // blank: it ends a multi-line message, the grammar must see it
  }
  if (c === 45 && end - start >= 3) {
    for (let i = start + 1; i < end; i++) if (buf[i] !== 45) return false;
    return true;
  }
  return false;
}
