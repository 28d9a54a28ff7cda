import {
  extractEvents,
  type LineKind,
  LogLineSplitter,
  type LogRecord,
  RecordAssembler,
  SentToExecutorDedupe,
} from '../../src/index.ts';

/** What a test compares: line kinds, records by level and format, tracebacks, events by kind. */
export interface Summary {
  lineKinds: Record<string, number>;
  levels: Record<string, number>;
  formats: Record<string, number>;
  tracebacks: number;
  events: Record<string, number>;
  sentToExecutor: number;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Collects records and line kinds the way log-metrics will count them. */
export class Collector {
  readonly records: LogRecord[] = [];
  readonly kinds: LineKind[] = [];
  readonly assembler = new RecordAssembler((r) => this.records.push(r));

  summary(): Summary {
    const s: Summary = { lineKinds: {}, levels: {}, formats: {}, tracebacks: 0, events: {}, sentToExecutor: 0 };
    for (const k of this.kinds) bump(s.lineKinds, k);
    const dedupe = new SentToExecutorDedupe();
    for (const r of this.records) {
      if (r.level) bump(s.levels, r.level);
      bump(s.formats, r.header.format);
      s.tracebacks += r.tracebacks;
      for (const e of extractEvents(r)) {
        if (dedupe.observe(e)) s.sentToExecutor++;
        const detail =
          e.kind === 'sent-to-executor'
            ? e.source
            : e.kind === 'celery-task'
              ? e.outcome
              : 'state' in e
                ? e.state
                : undefined;
        bump(s.events, detail === undefined ? e.kind : `${e.kind}:${detail}`);
      }
    }
    return s;
  }
}

/** Parse text through the string fast path (the caller split the lines). */
export function summariseLines(lines: string[]): { summary: Summary; records: LogRecord[] } {
  const c = new Collector();
  for (const line of lines) c.kinds.push(c.assembler.push(line));
  c.assembler.flush();
  return { summary: c.summary(), records: c.records };
}

/** Parse bytes through the splitter, in chunks of `chunkBytes`. */
export function summariseBytes(bytes: Uint8Array, chunkBytes = 65536): { summary: Summary; records: LogRecord[] } {
  const c = new Collector();
  const splitter = new LogLineSplitter(c.assembler, (k) => c.kinds.push(k));
  for (let i = 0; i < bytes.length; i += chunkBytes) splitter.push(bytes.subarray(i, i + chunkBytes));
  splitter.end();
  c.assembler.flush();
  return { summary: c.summary(), records: c.records };
}

/** Split file text the way the string path's callers do: on `\n`, dropping the empty piece after the last one. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
