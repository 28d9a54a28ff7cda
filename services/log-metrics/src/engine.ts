/**
 * Lines -> records -> events -> counters, using the log grammars of `@windsock/airflow` (record
 * assembly, event extraction, TasksSentToExecutor dedupe). One `SourceCounter` per followed file
 * or stream; one `CountingEngine` per process holds the counter table all sources add to.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import {
  EVENT_MESSAGE_MARKERS,
  extractEvents,
  type LogEvent,
  type LogRecord,
  quietContinuationAt,
  quietHeaderAt,
  RecordAssembler,
  SentToExecutorDedupe,
  type TaskInstanceRef,
} from '@windsock/airflow';
import {
  type BaseDims,
  baseDims,
  CardinalityGuard,
  type CounterCell,
  type CounterSeries,
  CounterTable,
  type HEARTBEAT_VALUES,
  OTHER,
} from './counters.ts';
import type { LineHandler, SplitterStats } from './inputs/lines.ts';
import { applyRules, type CompiledRule } from './rules.ts';

/** Options of {@link CountingEngine}. */
export interface CountingEngineOptions {
  cluster: string;
  rules?: readonly CompiledRule[];
  /** Per-DAG series (in addition to the plain ones), at most `maxValues` distinct DAGs per flush. */
  perDag?: { enabled: boolean; maxValues: number };
  /** Sent-to-executor dedupe state from the checkpoint, per stream. */
  restoredSends?: Record<string, SentKey[]>;
}

/** Where a source's lines come from and the dimensions they carry. */
export interface SourceInfo {
  component: string;
  /** Queue from the input's config (a worker that serves one queue); lines that name a queue win. */
  queue?: string | undefined;
  /** DAG from a task log's path, for the per-DAG series. */
  dag?: string | undefined;
  /**
   * Sources with the same stream share one sent-to-executor dedupe (one scheduler's log, even
   * across rotated files).
   */
  stream: string;
}

/** A TI key the dedupe holds as sent and not yet reported back (persisted with the checkpoint). */
export interface SentKey {
  key: string;
  tryNumber?: number | undefined;
}

const MAX_SENT_KEYS = 100_000;
const NL = 10;
const CR = 13;
const ESC = 27;
const MARKERS: readonly Buffer[] = EVENT_MESSAGE_MARKERS.map((m) => Buffer.from(m, 'latin1'));

const PERSISTED_SENT_KEYS = 5000;

interface Stream {
  dedupe: SentToExecutorDedupe;
  /** Keys the dedupe holds, mirrored so they can be persisted and replayed after a restart. */
  sent: Map<string, number | undefined>;
}

const CELERY_COUNTERS = {
  received: 'CeleryTasksReceived',
  succeeded: 'CeleryTasksSucceeded',
  failed: 'CeleryTasksFailed',
  retried: 'CeleryTasksRetried',
} as const;

/** Dimensions and zero-filled cells shared by the sources of one component and queue. */
interface SourceBase {
  base: BaseDims;
  errors: CounterCell;
  warnings: CounterCell;
  unparsed: CounterCell;
  tracebacks: CounterCell;
}

/** The process-wide counter state between flushes. */
export class CountingEngine {
  readonly table = new CounterTable();
  private values: CounterSeries[] = [];
  readonly cluster: string;
  private readonly rules: readonly CompiledRule[];
  private readonly perDag: boolean;
  private readonly dagGuard: CardinalityGuard;
  private readonly streams = new Map<string, Stream>();
  /** Counted hand-overs whose line named no queue, waiting for the `Sending` line that does. */
  private readonly heldSends = new Map<string, { base: BaseDims; dag: string | undefined }>();
  private readonly bases = new Map<string, SourceBase>();
  private readonly restored: Record<string, SentKey[]>;
  /** Lines seen by every source (for self-metrics). */
  lines = 0;

  constructor(opts: CountingEngineOptions) {
    this.cluster = opts.cluster;
    this.rules = opts.rules ?? [];
    this.perDag = opts.perDag?.enabled ?? false;
    this.dagGuard = new CardinalityGuard(opts.perDag?.maxValues ?? 50);
    this.restored = opts.restoredSends ?? {};
  }

  /** A line handler for one file or stream. */
  source(info: SourceInfo): SourceCounter {
    return new SourceCounter(this, info, this.rules);
  }

  /** The dedupe of a stream (restored from the checkpoint on first use). */
  stream(id: string): Stream {
    let s = this.streams.get(id);
    if (!s) {
      s = { dedupe: new SentToExecutorDedupe(MAX_SENT_KEYS), sent: new Map() };
      for (const k of this.restored[id] ?? []) {
        // Replaying a send re-creates exactly the dedupe's "pending" entry for the key.
        const ti: TaskInstanceRef = { key: k.key, dagId: '', taskId: '', runId: '', mapIndex: -1 };
        if (k.tryNumber !== undefined) ti.tryNumber = k.tryNumber;
        s.dedupe.observe({ kind: 'sent-to-executor', source: 'sending', ti });
        s.sent.set(k.key, k.tryNumber);
      }
      delete this.restored[id];
      this.streams.set(id, s);
    }
    return s;
  }

  /** The shared dimensions (and zero-filled cells) of sources with this component and queue. */
  base(component: string, queue: string | undefined): SourceBase {
    const id = `${component}\u0000${queue ?? ''}`;
    let b = this.bases.get(id);
    if (!b) {
      const dims: Record<string, string> = { Cluster: this.cluster, Component: component };
      if (queue) dims.Queue = queue;
      const t = this.table;
      b = {
        base: baseDims(dims),
        errors: t.cell('LogErrors', dims, true),
        warnings: t.cell('LogWarnings', dims, true),
        unparsed: t.cell('UnparsedLines', dims, true),
        tracebacks: t.cell('Tracebacks', dims, true),
      };
      this.bases.set(id, b);
    }
    return b;
  }

  /** Add to a series, plus its per-DAG twin when per-DAG counting is on and a DAG is known. */
  add(name: string, base: BaseDims, state?: string, queue?: string, dag?: string, n = 1): void {
    this.table.bump(name, base, state, queue, undefined, n);
    if (this.perDag && dag !== undefined) this.table.bump(name, base, state, queue, this.dagGuard.admit(dag), n);
  }

  /** A value read from a heartbeat token (see HEARTBEAT_VALUES); kept until the next drain. */
  observe(name: keyof typeof HEARTBEAT_VALUES, base: BaseDims, value: number, queue?: string): void {
    if (this.values.length >= MAX_VALUES_PER_FLUSH) return;
    this.values.push({ name, dimensions: queue ? { ...base.dims, Queue: queue } : base.dims, value });
  }

  /** Per-DAG twin only (the plain series was counted through a cell). */
  addDag(name: string, base: BaseDims, dag: string | undefined): void {
    if (this.perDag && dag !== undefined) this.table.bump(name, base, undefined, undefined, this.dagGuard.admit(dag));
  }

  /** A TasksSentToExecutor hand-over counted from a line without a queue: held for the queue. */
  holdSend(stream: string, key: string, base: BaseDims, dag: string | undefined): void {
    const id = `${stream}\u0000${key}`;
    const prev = this.heldSends.get(id);
    if (prev) this.add('TasksSentToExecutor', prev.base, undefined, undefined, prev.dag); // an earlier hand-over stays queue-less
    this.heldSends.set(id, { base, dag });
  }

  /** The `Sending` line of a held hand-over arrived: count it with its queue. */
  releaseSend(stream: string, key: string, queue: string): boolean {
    const id = `${stream}\u0000${key}`;
    const held = this.heldSends.get(id);
    if (!held) return false;
    this.heldSends.delete(id);
    this.add('TasksSentToExecutor', held.base, undefined, queue, held.dag);
    return true;
  }

  /**
   * End of a flush window: the increments since the last one (held hand-overs counted without a
   * queue, folded DAG increments counted), and the table reset. Synchronous, so it pairs exactly
   * with the sources' committed offsets read in the same tick.
   */
  drain(): CounterSeries[] {
    for (const held of this.heldSends.values())
      this.add('TasksSentToExecutor', held.base, undefined, undefined, held.dag);
    this.heldSends.clear();
    const folded = this.dagGuard.reset();
    if (folded > 0) this.table.add('DagDimensionFolded', { Cluster: this.cluster }, folded);
    for (const rule of this.rules) {
      for (const g of rule.guards) {
        const f = g.reset();
        if (f > 0) this.table.add('DagDimensionFolded', { Cluster: this.cluster, Rule: rule.name }, f);
      }
    }
    const series = this.table.drain();
    if (this.values.length) {
      series.push(...this.values);
      this.values = [];
    }
    return series;
  }

  /** Sent-to-executor keys to persist with the checkpoint (most recent per stream). */
  persistSends(): Record<string, SentKey[]> {
    const out: Record<string, SentKey[]> = { ...this.restored };
    for (const [id, s] of this.streams) {
      const keys = [...s.sent.entries()];
      out[id] = keys
        .slice(Math.max(0, keys.length - PERSISTED_SENT_KEYS))
        .map(([key, tryNumber]) => ({ key, tryNumber }));
    }
    return out;
  }
}

/** Counts one source's lines; also the line handler its input feeds. */
export class SourceCounter implements LineHandler {
  private readonly asm: RecordAssembler;
  private readonly base: BaseDims;
  private readonly errors: CounterCell;
  private readonly warnings: CounterCell;
  private readonly unparsed: CounterCell;
  private readonly tracebacks: CounterCell;
  private readonly dag: string | undefined;
  private readonly hasRules: boolean;
  private lineNo = 0;
  /** Line number where the oldest open record began (-1: none open). */
  private openSince = -1;

  constructor(
    private readonly engine: CountingEngine,
    private readonly info: SourceInfo,
    private readonly rules: readonly CompiledRule[],
  ) {
    const b = engine.base(info.component, info.queue);
    this.base = b.base;
    this.errors = b.errors;
    this.warnings = b.warnings;
    this.unparsed = b.unparsed;
    this.tracebacks = b.tracebacks;
    this.dag = info.dag;
    this.hasRules = rules.length > 0;
    this.asm = new RecordAssembler((r) => this.record(r), { onUnparsed: () => this.countUnparsed() });
  }

  line(text: string): void {
    this.lineNo++;
    this.engine.lines++;
    const kind = this.asm.push(text);
    this.track(kind === 'header' || kind === 'traceback');
    if (this.hasRules)
      applyRules(this.rules, this.info.component, text, (name, dims, n) => this.ruleHit(name, dims, n));
  }

  invalidLine(decoded?: string): void {
    this.lineNo++;
    this.engine.lines++;
    const kind = decoded === undefined ? this.asm.pushUnparsed('invalid-utf8') : this.asm.pushInvalid(decoded);
    this.track(kind === 'header');
  }

  /**
   * The fast path: a run of whole lines in their bytes (each ends with `\n`). Lines that cannot count
   * (quiet headers: `quietHeaderAt`) are classified in place and never become strings; the others
   * are decoded one by one and go through `line()`. Returns the number of lines, or -1 when this
   * source cannot take blocks (user rules read every line's text).
   */
  lineBlock(block: Buffer, stats: SplitterStats): number {
    if (this.hasRules) return -1;
    const len = block.length;
    const ascii = isAscii(block);
    const valid = ascii || isUtf8(block);
    // Where the bytes that force the full grammar are: NUL, ESC (ANSI colours), event markers.
    let nul = block.indexOf(0);
    let esc = block.indexOf(ESC);
    const marks = MARKERS.map((m) => block.indexOf(m));
    const asm = this.asm;
    const engine = this.engine;
    let count = 0;
    let pos = 0;
    while (pos < len) {
      let nl = block.indexOf(NL, pos);
      if (nl === -1) nl = len; // not expected: blocks end with a newline
      let end = nl;
      if (end > pos && block[end - 1] === CR) end--;
      count++;
      if (nul !== -1 && nul < pos) nul = block.indexOf(0, pos);
      if (esc !== -1 && esc < pos) esc = block.indexOf(ESC, pos);
      let special = (nul !== -1 && nul < nl) || (esc !== -1 && esc < nl);
      for (let m = 0; m < marks.length; m++) {
        let at = marks[m]!;
        if (at !== -1 && at < pos) {
          at = block.indexOf(MARKERS[m]!, pos);
          marks[m] = at;
        }
        if (at !== -1 && at < nl) special = true;
      }
      const quiet = special ? 0 : quietHeaderAt(block, pos, end);
      if (quiet !== 0) {
        this.lineNo++;
        engine.lines++;
        asm.pushQuiet(quiet);
        this.track(true);
      } else if (!special && asm.quietOpen && quietContinuationAt(block, pos, end)) {
        this.lineNo++;
        engine.lines++;
        this.track(false);
      } else {
        const text = ascii ? block.toString('latin1', pos, end) : block.toString('utf8', pos, end);
        if (!valid && text.indexOf('\uFFFD') !== -1 && !isUtf8(block.subarray(pos, end))) {
          stats.invalidLines++;
          this.invalidLine(text);
        } else this.line(text);
      }
      pos = nl + 1;
    }
    return count;
  }

  pendingLines(): number {
    return this.openSince < 0 ? 0 : this.lineNo - this.openSince + 1;
  }

  finish(): void {
    this.asm.flush();
    this.openSince = -1;
  }

  private track(started: boolean): void {
    const open = this.asm.openRecords;
    if (open === 0) this.openSince = -1;
    // With one record open, a record that started on this line is the oldest open one. With several
    // (interleaved `name | ` prefixes) the oldest start is kept: a restart may then re-read a little.
    else if (started ? open === 1 || this.openSince < 0 : this.openSince < 0) this.openSince = this.lineNo;
  }

  private countUnparsed(): void {
    this.unparsed.value++;
    if (this.dag !== undefined) this.engine.addDag('UnparsedLines', this.base, this.dag);
  }

  private record(r: LogRecord): void {
    const level = r.level;
    if (level === 'ERROR' || level === 'CRITICAL') {
      this.errors.value++;
      if (this.dag !== undefined) this.engine.addDag('LogErrors', this.base, this.dag);
    } else if (level === 'WARNING') {
      this.warnings.value++;
      if (this.dag !== undefined) this.engine.addDag('LogWarnings', this.base, this.dag);
    }
    const events = extractEvents(r);
    for (let i = 0; i < events.length; i++) this.event(events[i]!);
  }

  private event(e: LogEvent): void {
    const engine = this.engine;
    switch (e.kind) {
      case 'traceback':
        this.tracebacks.value++;
        if (this.dag !== undefined) engine.addDag('Tracebacks', this.base, this.dag);
        return;
      case 'sent-to-executor':
        this.sent(e);
        return;
      case 'queued':
        engine.add('TasksQueued', this.base, undefined, undefined, e.ti.dagId || undefined);
        return;
      case 'executor-event':
        this.release(e);
        engine.add('ExecutorEvents', this.base, e.state, undefined, e.ti?.dagId);
        return;
      case 'task-instance-finished':
        this.release(e);
        engine.add('TaskInstancesFinished', this.base, e.state, e.queue || undefined, e.ti?.dagId);
        return;
      case 'task-state-marked':
        engine.add('TaskStateMarked', this.base, e.state, undefined, e.ti?.dagId ?? this.dag);
        return;
      case 'task-final-state':
        engine.add('TaskFinalState', this.base, e.state, undefined, this.dag);
        return;
      case 'celery-task':
        engine.add(CELERY_COUNTERS[e.outcome], this.base, undefined, undefined, this.dag);
        return;
      case 'heartbeat':
        engine.add('HeartbeatSuccess', this.base, undefined, e.queue || undefined, e.fields.dag_id ?? this.dag);
        this.heartbeatValues(e.fields);
        return;
    }
  }

  /** The token's latency and per-queue pickup times (v=2 tokens; older tokens carry none). */
  private heartbeatValues(fields: Record<string, string>): void {
    const latency = seconds(fields.latency_seconds);
    if (latency !== undefined) this.engine.observe('HeartbeatLatencySeconds', this.base, latency);
    for (const pair of fields.pickup_seconds?.split(',') ?? []) {
      const colon = pair.lastIndexOf(':');
      const value = seconds(pair.slice(colon + 1));
      if (colon > 0 && value !== undefined)
        this.engine.observe('HeartbeatQueuePickupSeconds', this.base, value, pair.slice(0, colon));
    }
  }

  private sent(e: Extract<LogEvent, { kind: 'sent-to-executor' }>): void {
    const stream = this.engine.stream(this.info.stream);
    const count = stream.dedupe.observe(e);
    const key = e.ti.key;
    const queue = e.source === 'sending' ? e.queue : undefined;
    if (count) {
      stream.sent.delete(key);
      if (stream.sent.size >= MAX_SENT_KEYS) stream.sent.delete(stream.sent.keys().next().value as string);
      stream.sent.set(key, e.ti.tryNumber);
      const dag = e.ti.dagId || undefined;
      if (queue) this.engine.add('TasksSentToExecutor', this.base, undefined, queue, dag);
      else this.engine.holdSend(this.info.stream, key, this.base, dag);
      return;
    }
    if (stream.sent.get(key) === undefined && e.ti.tryNumber !== undefined && stream.sent.has(key)) {
      stream.sent.set(key, e.ti.tryNumber);
    }
    if (queue) this.engine.releaseSend(this.info.stream, key, queue);
  }

  /** An executor event or TaskInstance Finished line ends the dedupe's hold on its TI. */
  private release(e: Extract<LogEvent, { kind: 'executor-event' | 'task-instance-finished' }>): void {
    if (!e.ti) return;
    const s = this.engine.stream(this.info.stream);
    s.dedupe.observe(e);
    s.sent.delete(e.ti.key);
  }

  private ruleHit(name: string, dims: Record<string, string>, n: number): void {
    this.engine.table.add(name, { ...this.base.dims, ...dims }, n);
  }
}

export { OTHER };

/** Heartbeat tokens are rare; a flood of them cannot grow a flush's value list without bound. */
const MAX_VALUES_PER_FLUSH = 1000;

function seconds(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
