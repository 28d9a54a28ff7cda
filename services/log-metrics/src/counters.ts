/**
 * The counters log-metrics publishes (the public contract of issue 5) and the table that
 * accumulates them between flushes.
 */

/** Every built-in counter: name -> what it counts and which dimensions it may carry (besides Cluster, Component). */
export const COUNTERS = {
  TasksSentToExecutor: {
    dims: ['Queue'],
    help: 'Distinct task instances handed to the executor (2.x `Sending ...`/`Adding to queue:`, 2.10+/3.x each TI of `Trying to enqueue tasks: [...]`; one per TI however many of these lines name it).',
  },
  TasksQueued: { dims: [], help: "TIs listed under the scheduler's `Setting the following tasks to queued state:`." },
  ExecutorEvents: {
    dims: ['State'],
    help: '`Received executor event with state X` (and the older `Executor reports execution of ... exited with status X`).',
  },
  TaskInstancesFinished: {
    dims: ['State', 'Queue'],
    help: "The scheduler's `TaskInstance Finished: ... state=X` (and 2.3's `Task Finished:`).",
  },
  TaskStateMarked: { dims: ['State'], help: 'Task-log markers `Marking task as X` (every marker line counts).' },
  TaskFinalState: { dims: ['State'], help: 'Airflow 3 supervisor `Task finished ... final_state=X`.' },
  CeleryTasksReceived: { dims: [], help: 'Celery `Task <name>[<id>] received`.' },
  CeleryTasksSucceeded: { dims: [], help: 'Celery `Task <name>[<id>] succeeded in ...`.' },
  CeleryTasksFailed: { dims: [], help: 'Celery `Task <name>[<id>] raised unexpected: ...`.' },
  CeleryTasksRetried: { dims: [], help: 'Celery `Task <name>[<id>] retry: ...`.' },
  LogErrors: { dims: [], help: 'Records whose header level is ERROR or CRITICAL.' },
  LogWarnings: { dims: [], help: 'Records whose header level is WARNING.' },
  Tracebacks: { dims: [], help: '`Traceback (most recent call last):` blocks; a chained traceback is one.' },
  HeartbeatSuccess: { dims: ['Queue'], help: 'Heartbeat success tokens written by the windsock_heartbeat DAG.' },
  UnparsedLines: { dims: [], help: 'Non-empty lines that are neither a record header nor a continuation line.' },
  DagDimensionFolded: {
    dims: [],
    help: 'Per-DAG increments folded into DAG=__other__ because a flush saw more distinct DAGs than perDag.maxValues.',
  },
} as const satisfies Record<string, { dims: readonly string[]; help: string }>;

/**
 * Values, not counts, read from the heartbeat DAG's success token (`latency_seconds`,
 * `pickup_seconds=queue:seconds,...`): published as gauges in Seconds, the last value of a flush.
 */
export const HEARTBEAT_VALUES = {
  HeartbeatLatencySeconds: {
    dims: [],
    help: "Seconds from the heartbeat run's start to its success token (token field latency_seconds).",
  },
  HeartbeatQueuePickupSeconds: {
    dims: ['Queue'],
    help: 'Per worker queue, seconds from the probe task being queued to a worker starting it (token field pickup_seconds).',
  },
} as const satisfies Record<string, { dims: readonly string[]; help: string }>;

/** A built-in counter name. */
export type CounterName = keyof typeof COUNTERS;

/**
 * Counters published as explicit zeros for every source's dimensions, so that "no errors in this
 * minute" is a 0 on a dashboard and not missing data.
 */
export const ZERO_FILLED: readonly CounterName[] = ['LogErrors', 'LogWarnings', 'Tracebacks', 'UnparsedLines'];

/** Value folded DAG ids (and user-rule dimension values over the guard) are published under. */
export const OTHER = '__other__';

/** One series and its increment since the last drain. */
export interface CounterSeries {
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

/** A cell a hot path increments directly (`cell.value++`). */
export interface CounterCell {
  value: number;
}

interface Entry extends CounterSeries {
  /** Zero-filled series stay in the table (and are published as 0); the others are dropped when drained at 0. */
  keep: boolean;
}

/** The dimensions every series of one source shares (Cluster, Component and maybe Queue), with a key for them. */
export interface BaseDims {
  readonly key: string;
  readonly dims: Readonly<Record<string, string>>;
}

/** Build a {@link BaseDims}. */
export function baseDims(dims: Record<string, string>): BaseDims {
  // A short key keeps the hot path's string hashing cheap; the dimensions live in `dims`.
  return { key: String(nextBaseId++), dims: Object.freeze({ ...dims }) };
}
let nextBaseId = 1;

/**
 * Increments per (name, dimensions) since the last `drain()`. Dimension objects are built once per
 * series; increments only compose a key string, and hot paths hold the cell itself.
 */
export class CounterTable {
  private readonly entries = new Map<string, Entry>();
  /**
   * Cells by base, name, State, Queue and DAG, one map level each: the hot path looks strings up
   * that already exist (no key is composed per increment) and never sorts dimension names.
   */
  private fast = new Map<BaseDims, Map<string, Map<string, Map<string, Entry | Map<string, Entry>>>>>();

  /** Add `n` to the series `base` + State/Queue/DAG (each optional). */
  bump(name: string, base: BaseDims, state?: string, queue?: string, dag?: string, n = 1): void {
    let byName = this.fast.get(base);
    if (!byName) {
      byName = new Map();
      this.fast.set(base, byName);
    }
    let byState = byName.get(name);
    if (!byState) {
      byState = new Map();
      byName.set(name, byState);
    }
    const s = state ?? '';
    let byQueue = byState.get(s);
    if (!byQueue) {
      byQueue = new Map();
      byState.set(s, byQueue);
    }
    // Plain series under the queue itself; per-DAG ones under `\u0001` + queue, by DAG.
    const q = dag === undefined ? (queue ?? '') : `\u0001${queue ?? ''}`;
    let slot = byQueue.get(q);
    let e: Entry | undefined;
    if (dag === undefined) e = slot as Entry | undefined;
    else {
      if (!slot) {
        slot = new Map<string, Entry>();
        byQueue.set(q, slot);
      }
      e = (slot as Map<string, Entry>).get(dag);
    }
    if (!e) {
      const dims: Record<string, string> = { ...base.dims };
      if (state !== undefined) dims.State = state;
      if (queue !== undefined) dims.Queue = queue;
      if (dag !== undefined) dims.DAG = dag;
      e = this.cell(name, dims) as Entry;
      if (dag === undefined) byQueue.set(q, e);
      else (slot as Map<string, Entry>).set(dag, e);
    }
    e.value += n;
  }

  /** The cell of a series (created at 0); `keep` makes it publish as 0 when nothing happened. */
  cell(name: string, dimensions: Record<string, string>, keep = false): CounterCell {
    const key = seriesKeyOf(name, dimensions);
    let e = this.entries.get(key);
    if (!e) {
      e = { name, dimensions: { ...dimensions }, value: 0, keep };
      this.entries.set(key, e);
    } else if (keep) e.keep = true;
    return e;
  }

  /** Add `n` to a series. */
  add(name: string, dimensions: Record<string, string>, n = 1): void {
    this.cell(name, dimensions).value += n;
  }

  /** The increments since the last drain (zero-filled series included), then reset them to 0. */
  drain(): CounterSeries[] {
    this.fast = new Map();
    const out: CounterSeries[] = [];
    for (const [key, e] of this.entries) {
      if (e.value !== 0 || e.keep) out.push({ name: e.name, dimensions: e.dimensions, value: e.value });
      if (e.keep) e.value = 0;
      else this.entries.delete(key);
    }
    return out;
  }

  /** Current values without draining (for `/status`). */
  peek(): CounterSeries[] {
    return [...this.entries.values()].map((e) => ({ name: e.name, dimensions: e.dimensions, value: e.value }));
  }
}

function seriesKeyOf(name: string, dims: Record<string, string>): string {
  let key = name;
  for (const k of Object.keys(dims).sort()) key += `\u0001${k}\u0002${dims[k]}`;
  return key;
}

/**
 * Caps the distinct values of one dimension per flush window: the first `maxValues` values pass,
 * later new values become `__other__` and each folded increment is counted.
 */
export class CardinalityGuard {
  private readonly seen = new Set<string>();
  folded = 0;

  constructor(readonly maxValues: number) {}

  /** The value to publish for `value` in this window. */
  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.maxValues) {
      this.seen.add(value);
      return value;
    }
    this.folded++;
    return OTHER;
  }

  /** Start a new window; returns how many increments were folded in the one that ended. */
  reset(): number {
    const f = this.folded;
    this.seen.clear();
    this.folded = 0;
    return f;
  }
}
