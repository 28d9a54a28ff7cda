import { stripAnsi } from './ansi.ts';
import { continuesRecord, isTracebackStart, type TracebackState, unparsedReason } from './continuation.ts';
import { isIncomplete, recogniseHeader, structlogSuffix } from './header.ts';
import { jsonRecordHasTraceback } from './json-line.ts';
import { prefixEnd, prefixName } from './prefix.ts';
import { QUIET_AIRFLOW2_DEBUG, QUIET_AIRFLOW2_INFO, QUIET_CELERY_INFO, type QuietKind } from './quiet.ts';
import type { LineKind, LogLevel, LogRecord, LogRecordHeader, UnparsedReason } from './types.ts';

/** Limits that keep one record's memory bounded whatever the input. */
export interface RecordAssemblerOptions {
  /** Continuation lines kept per record; later ones are still classified and counted, not stored. Default 1000. */
  maxStoredLines?: number;
  /** A 3.x console event still waiting for its `[logger]` suffix stops absorbing lines after this many. Default 1000. */
  maxPendingLines?: number;
  /** Prefixes (docker compose services) with a record open at once; the oldest is closed past this. Default 64. */
  maxOpenPrefixes?: number;
  /** Called for every unparsed line with the reason (the line is the cleaned text, '' for byte garbage). */
  onUnparsed?: (line: string, reason: UnparsedReason) => void;
}

const BARE_TRACEBACK: LogRecordHeader = {
  format: 'bare-traceback',
  timestamp: '',
  level: null,
  logger: '',
  message: '',
  fields: '',
};

class OpenRecord implements LogRecord, TracebackState {
  readonly continuation: string[] = [];
  readonly level: LogLevel | null;
  lineCount = 1;
  tracebacks = 0;
  inTraceback = false;
  chained = false;
  inExceptionMessage = false;
  inSql = false;
  pendingSuffix: boolean;
  pendingLines = 0;

  constructor(
    readonly header: LogRecordHeader,
    readonly prefix: string,
  ) {
    this.level = header.level;
    this.pendingSuffix = isIncomplete(header);
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 12 && c !== 11) return false;
  }
  return true;
}

/**
 * Streaming record assembly: push physical lines, get whole records (a header plus its continuation
 * lines) through `onRecord` once the next header, an unparsed line or `flush()` closes them.
 *
 * Lines with a process-manager prefix (`scheduler | ...`) are assembled per prefix, so the interleaved
 * output of several docker compose services still joins each continuation to its own header.
 *
 * @example
 * const records: LogRecord[] = [];
 * const asm = new RecordAssembler((r) => records.push(r));
 * for (const line of text.split('\n')) asm.push(line);
 * asm.flush();
 */
/** Stdlib-logging line formats whose messages may continue on unindented lines. */
const MULTILINE_MESSAGE_FORMATS: ReadonlySet<string> = new Set([
  'airflow2',
  'airflow-mwaa',
  'airflow2-simple',
  'celery',
  'celery-task',
]);

export class RecordAssembler {
  /** The reason of the last line `push` returned 'unparsed' for. */
  lastUnparsedReason: UnparsedReason | null = null;
  // The unprefixed record lives outside the map: nearly every stream has no prefix.
  private plain: OpenRecord | undefined;
  /**
   * The unprefixed record is a quiet header (see `pushQuiet`) with nothing after it yet: it is only
   * built as an `OpenRecord` if a line joins it, and is not emitted if none does.
   */
  private quiet: QuietKind = 0;
  private readonly prefixed = new Map<string, OpenRecord>();
  private readonly maxStoredLines: number;
  private readonly maxPendingLines: number;
  private readonly maxOpenPrefixes: number;
  private readonly onUnparsed: ((line: string, reason: UnparsedReason) => void) | undefined;

  constructor(
    private readonly onRecord: (record: LogRecord) => void,
    options: RecordAssemblerOptions = {},
  ) {
    this.maxStoredLines = options.maxStoredLines ?? 1000;
    this.maxPendingLines = options.maxPendingLines ?? 1000;
    this.maxOpenPrefixes = options.maxOpenPrefixes ?? 64;
    this.onUnparsed = options.onUnparsed;
  }

  /** Records still waiting for their end (a next header or `flush()`). */
  get openRecords(): number {
    return this.prefixed.size + (this.plain || this.quiet !== 0 ? 1 : 0);
  }

  private get(prefix: string): OpenRecord | undefined {
    if (prefix !== '') return this.prefixed.get(prefix);
    if (this.quiet !== 0) this.materialiseQuiet();
    return this.plain;
  }

  /**
   * A header line the caller has recognised in its bytes as quiet (`quietHeaderAt`): a 2.x or Celery
   * INFO/DEBUG header, unprefixed, whose message tells no event. Same effect as `push` of the line:
   * the open unprefixed record is closed and a record is opened for this header; but the quiet record
   * holds no text, and if it is closed with no line joined to it, it is not emitted (it has nothing
   * to count: no level that counts, no event, no traceback).
   */
  pushQuiet(kind: Exclude<QuietKind, 0>): 'header' {
    if (this.quiet === 0) {
      const previous = this.plain;
      if (previous) this.close(previous);
    }
    this.quiet = kind;
    return 'header';
  }

  /**
   * True while the open unprefixed record is a quiet one with nothing joined yet. A line the caller
   * recognises in its bytes as a quiet continuation (`quietContinuationAt`) then joins it without
   * changing anything it counts, so the caller need not push it; otherwise push the line's text.
   */
  get quietOpen(): boolean {
    return this.quiet !== 0;
  }

  private materialiseQuiet(): void {
    const kind = this.quiet;
    this.quiet = 0;
    const airflow2 = kind === QUIET_AIRFLOW2_INFO || kind === QUIET_AIRFLOW2_DEBUG;
    const level: LogLevel = kind === QUIET_AIRFLOW2_INFO || kind === QUIET_CELERY_INFO ? 'INFO' : 'DEBUG';
    const rec = new OpenRecord(
      { format: airflow2 ? 'airflow2' : 'celery', timestamp: '', level, logger: '', message: '', fields: '' },
      '',
    );
    rec.inExceptionMessage = true; // both are MULTILINE_MESSAGE_FORMATS
    this.plain = rec;
  }

  /**
   * Classify one physical line (without its `\n`; a trailing `\r` is removed) and assemble it. Never
   * throws: NUL bytes make the line `binary` unless they only lead it (the holes copytruncate leaves),
   * in which case they are skipped.
   */
  push(rawLine: string): LineKind {
    let line = rawLine;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    if (line.indexOf('\u0000') !== -1) {
      let i = 0;
      while (line.charCodeAt(i) === 0) i++;
      line = line.slice(i);
      if (line.length === 0) return this.unparsed('', 'binary', '');
      // A record whose message holds a NUL byte still counts as what its header says.
      if (line.indexOf('\u0000') !== -1) return this.pushDamaged(line, 'binary');
    }
    line = stripAnsi(line, true);
    if (isBlank(line)) return this.blank('');

    const h = recogniseHeader(line);
    if (h) return this.startRecord('', h);

    const end = prefixEnd(line);
    if (end !== 0) {
      const name = prefixName(line, end);
      const body = line.slice(end);
      if (isBlank(body)) return this.blank(name);
      const hb = recogniseHeader(body);
      if (hb) return this.startRecord(name, hb);
      const rec = this.get(name);
      if (rec) {
        if (this.continueRecord(rec, body)) return 'continuation';
        this.close(rec);
        if (isTracebackStart(body)) return this.startBareTraceback(name);
        return this.unparsed(body, unparsedReason(body), name);
      }
      if (isTracebackStart(body)) return this.startBareTraceback(name);
      // Not a prefix after all (`a | b` in free text): judge the whole line below.
    }

    const rec = this.get('');
    if (rec) {
      if (this.continueRecord(rec, line)) return 'continuation';
      this.close(rec);
    }
    if (isTracebackStart(line)) return this.startBareTraceback('');
    return this.unparsed(line, unparsedReason(line), '');
  }

  /** Count a line that never became text (invalid UTF-8, binary); it ends the unprefixed open record. */
  pushUnparsed(reason: UnparsedReason): LineKind {
    return this.unparsed('', reason, '');
  }

  /**
   * A line that is not valid UTF-8, decoded with U+FFFD for each invalid sequence. A header line
   * (the damage is in its message) opens its record like any header, so an ERROR record with a
   * stray byte still counts as an error; any other such line is unparsed (`invalid-utf8`).
   */
  pushInvalid(decoded: string): LineKind {
    let line = decoded;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    let i = 0;
    while (line.charCodeAt(i) === 0) i++;
    if (i > 0) line = line.slice(i);
    return this.pushDamaged(line, 'invalid-utf8');
  }

  /** A header with damage (NUL, invalid bytes) in its message is a header; anything else is unparsed. */
  private pushDamaged(line: string, reason: UnparsedReason): LineKind {
    const clean = stripAnsi(line, true);
    const h = recogniseHeader(clean);
    if (h) return this.startRecord('', h);
    return this.unparsed('', reason, '');
  }

  /** Emit every open record: at end of input, or when a tailed file has been idle long enough. */
  flush(): void {
    this.quiet = 0;
    const plain = this.plain;
    this.plain = undefined;
    if (plain) this.onRecord(plain);
    for (const rec of this.prefixed.values()) this.onRecord(rec);
    this.prefixed.clear();
  }

  private startRecord(prefix: string, h: LogRecordHeader): LineKind {
    if (prefix === '') this.quiet = 0; // a quiet record closed unchanged is dropped
    const previous = this.get(prefix);
    if (previous) this.close(previous);
    else if (prefix !== '' && this.prefixed.size >= this.maxOpenPrefixes) {
      const oldest = this.prefixed.values().next().value;
      if (oldest) this.close(oldest);
    }
    const rec = new OpenRecord(h, prefix);
    // Python logging writes a message that contains newlines as one header plus its raw lines
    // (`INFO - API response:` / `Error: rate limited ...`): they belong to the record up to the next
    // blank line, exactly like the message lines after a traceback's exception line.
    if (MULTILINE_MESSAGE_FORMATS.has(h.format)) rec.inExceptionMessage = true;
    if ((h.format === 'airflow3-json' || h.format === 'airflow2-json') && jsonRecordHasTraceback(h)) {
      rec.tracebacks = 1;
    }
    this.set(rec);
    return 'header';
  }

  private startBareTraceback(prefix: string): LineKind {
    const rec = new OpenRecord({ ...BARE_TRACEBACK }, prefix);
    rec.tracebacks = 1;
    rec.inTraceback = true;
    this.set(rec);
    return 'traceback';
  }

  private continueRecord(rec: OpenRecord, line: string): boolean {
    if (rec.pendingSuffix) {
      // Every line of a multi-line 3.x event belongs to it until the `[logger] k=v` suffix shows up.
      continuesRecord(line, rec);
      const suffix = structlogSuffix(line);
      if (suffix) {
        rec.header.logger = suffix.logger;
        rec.header.fields = suffix.fields;
        rec.pendingSuffix = false;
      } else if (++rec.pendingLines >= this.maxPendingLines) {
        rec.pendingSuffix = false;
      }
    } else if (!continuesRecord(line, rec)) {
      return false;
    }
    rec.lineCount++;
    if (rec.continuation.length < this.maxStoredLines) rec.continuation.push(line);
    return true;
  }

  private blank(prefix: string): LineKind {
    const rec = this.get(prefix);
    if (rec) {
      rec.inExceptionMessage = false;
      rec.lineCount++;
      if (rec.continuation.length < this.maxStoredLines) rec.continuation.push('');
    }
    return 'blank';
  }

  private unparsed(line: string, reason: UnparsedReason, prefix: string): LineKind {
    const rec = this.get(prefix);
    if (rec) this.close(rec);
    this.lastUnparsedReason = reason;
    this.onUnparsed?.(line, reason);
    return 'unparsed';
  }

  private set(rec: OpenRecord): void {
    if (rec.prefix === '') this.plain = rec;
    else this.prefixed.set(rec.prefix, rec);
  }

  private close(rec: OpenRecord): void {
    if (rec.prefix === '') this.plain = undefined;
    else this.prefixed.delete(rec.prefix);
    this.onRecord(rec);
  }
}
