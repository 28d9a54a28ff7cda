/**
 * A container's log stream as the Docker engine serves it (`GET /containers/{id}/logs` with
 * `timestamps=1`), turned back into lines with an exact resume position.
 *
 * Facts this relies on (moby `daemon/logs.go`, `pkg/stdcopy`):
 * - without a TTY the body is multiplexed: frames of an 8-byte header (stream 1 = stdout,
 *   2 = stderr, 3 bytes zero, big-endian uint32 size) and the payload; the engine writes one frame
 *   per log message;
 * - with `timestamps=1` every message starts with its RFC 3339 nano timestamp and a space;
 * - the json-file and local drivers split lines longer than 16 KiB into several messages; only the
 *   last one ends with `\n`, so a line is the concatenation of messages up to a newline;
 * - `since` keeps messages whose timestamp is not before it (nanosecond precision), so a resume
 *   from, per stream, (timestamp T, n messages at T already read) is exact: the request starts at
 *   the older stream's T and each stream skips what it had read.
 */
import type Docker from 'dockerode';

/** Which of the container's outputs a line came from. */
export type DockerStream = 'stdout' | 'stderr';

/** How far one stream has been read: the last message's timestamp and how many messages at it. */
export interface DockerStreamCursor {
  /** Nanoseconds since the epoch (decimal text, JSON-safe). */
  nanos: string;
  seen: number;
}

/**
 * Where a reader of a container's log stands, per stream (each up to its last complete line):
 * resuming there neither repeats nor skips a line of either stream.
 */
export interface DockerLogPosition {
  containerId: string;
  stdout?: DockerStreamCursor;
  stderr?: DockerStreamCursor;
}

/** One log line of a container. */
export interface DockerLogLine {
  stream: DockerStream;
  /** The line's bytes without its newline. */
  text: Buffer;
  /** The engine's timestamp of the line's last message (RFC 3339 nano). */
  timestamp: string;
  /** The position just after this line. */
  position: DockerLogPosition;
}

/** What a follower is doing, for /status and logs. */
export interface DockerFollowerStatus {
  state: 'attached' | 'waiting' | 'stopped';
  container: string;
  containerId?: string;
  /** Why it waits (no such container, not running, an engine error). */
  reason?: string;
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Nanoseconds since the epoch of an RFC 3339 (nano) timestamp; null when it is not one. */
export function timestampNanos(ts: string): bigint | null {
  const m = TIMESTAMP.exec(ts);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** The `since` query value for a position: `seconds.nanoseconds`. */
export function sinceParam(nanos: bigint): string {
  const s = nanos / 1_000_000_000n;
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${s}.${frac}`;
}

/** Splits the engine's multiplexed body into frames, whatever the chunk boundaries. */
export class DockerFrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Frames completed by `chunk`, in order. */
  push(chunk: Buffer): { stream: DockerStream; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { stream: DockerStream; payload: Buffer }[] = [];
    let at = 0;
    while (this.buf.length - at >= 8) {
      const size = this.buf.readUInt32BE(at + 4);
      if (this.buf.length - at - 8 < size) break;
      const kind = this.buf[at];
      const payload = this.buf.subarray(at + 8, at + 8 + size);
      // 0 is stdin (never in logs); anything else than 1/2 is treated as stdout rather than lost.
      out.push({ stream: kind === 2 ? 'stderr' : 'stdout', payload });
      at += 8 + size;
    }
    this.buf = this.buf.subarray(at);
    return out;
  }
}

/** Options of {@link ContainerLogFollower}. */
export interface ContainerLogFollowerOptions {
  docker: Docker;
  /** Container name or id. A container replaced under the same name is followed from its start. */
  container: string;
  /** Where to start: the container's first line, only new lines, or a saved position. */
  from?: 'beginning' | 'end' | DockerLogPosition;
  /** Keep following (the service) or read what is there and finish (`--once`). Default true. */
  follow?: boolean;
  /** How long to wait before looking for the container again. Default 1000 ms. */
  retryMs?: number;
  onLine(line: DockerLogLine): void;
  onStatus?(status: DockerFollowerStatus): void;
}

interface Message {
  stream: DockerStream;
  timestamp: string;
  nanos: bigint;
  content: Buffer;
}

/**
 * Follows one container's stdout and stderr as lines, across engine hiccups, container restarts
 * and replacement, with a position to resume from after a restart of our own.
 *
 * @example
 * const f = new ContainerLogFollower({ docker, container: 'airflow-scheduler', onLine: (l) => count(l) });
 * f.start(); ... await f.stop();
 */
export class ContainerLogFollower {
  private readonly abort = new AbortController();
  private running?: Promise<void>;
  private containerId?: string;
  /** Per stream: the last message read (partial lines included) and the last complete line. */
  private readonly streams: Record<DockerStream, StreamState> = { stdout: newStream(), stderr: newStream() };
  private lastStatus?: DockerFollowerStatus;

  constructor(private readonly opts: ContainerLogFollowerOptions) {
    const from = opts.from;
    if (from && typeof from === 'object') {
      this.containerId = from.containerId;
      for (const k of ['stdout', 'stderr'] as const) {
        const c = from[k];
        if (c) this.streams[k] = { ...newStream(), read: toCursor(c), line: toCursor(c) };
      }
    }
  }

  /** Start following in the background. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Follow until the stream ends once (`follow: false`): resolves when everything there was read. */
  async drain(): Promise<void> {
    this.start();
    await this.running;
  }

  /** Stop following; resolves when the stream is closed. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** The follower's state now. */
  status(): DockerFollowerStatus {
    return this.lastStatus ?? { state: 'waiting', container: this.opts.container, reason: 'not started' };
  }

  private setStatus(s: Omit<DockerFollowerStatus, 'container'>): void {
    const next = { container: this.opts.container, ...s };
    const prev = this.lastStatus;
    this.lastStatus = next;
    if (prev?.state !== next.state || prev?.reason !== next.reason || prev?.containerId !== next.containerId) {
      this.opts.onStatus?.(next);
    }
  }

  private async loop(): Promise<void> {
    const follow = this.opts.follow ?? true;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await this.opts.docker.getContainer(this.opts.container).inspect({ abortSignal: signal });
      } catch (err) {
        if (signal.aborted) break;
        const code = (err as { statusCode?: number }).statusCode;
        this.setStatus({ state: 'waiting', reason: code === 404 ? 'no such container' : describe(err) });
        if (!follow) break;
        await wait(this.opts.retryMs ?? 1000, signal);
        continue;
      }
      if (info.Id !== this.containerId) {
        // A container we have not read before: its whole log is new to us (unless told to start at the end).
        const fresh = this.containerId === undefined;
        this.containerId = info.Id;
        const now = { nanos: BigInt(Date.now()) * 1_000_000n, seen: 0 };
        for (const k of ['stdout', 'stderr'] as const) {
          this.streams[k] =
            fresh && this.opts.from === 'end' ? { ...newStream(), read: { ...now }, line: { ...now } } : newStream();
        }
      }
      try {
        this.setStatus({ state: 'attached', containerId: info.Id });
        await this.read(info, follow, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.setStatus({ state: 'waiting', containerId: info.Id, reason: describe(err) });
      }
      if (!follow || signal.aborted) break;
      // The stream ended: the container stopped (or the engine restarted). Look again shortly.
      let runningNow = false;
      try {
        runningNow = (await this.opts.docker.getContainer(info.Id).inspect({ abortSignal: signal })).State.Running;
      } catch {
        runningNow = false;
      }
      if (!runningNow) {
        this.flushPending();
        this.setStatus({ state: 'waiting', containerId: info.Id, reason: 'container not running' });
      }
      await wait(this.opts.retryMs ?? 1000, signal);
    }
    if (!follow) this.flushPending();
    this.setStatus({ state: 'stopped', ...(this.containerId ? { containerId: this.containerId } : {}) });
  }

  private async read(info: Docker.ContainerInspectInfo, follow: boolean, signal: AbortSignal): Promise<void> {
    const container = this.opts.docker.getContainer(info.Id);
    const base = { stdout: true, stderr: true, timestamps: true, abortSignal: signal } as const;
    // Every (re)attachment resumes each stream from the last message it read; the engine sends
    // from the older of the two timestamps on, and each stream skips what it has seen.
    let from: bigint | undefined;
    for (const k of ['stdout', 'stderr'] as const) {
      const st = this.streams[k];
      st.skip = st.read ? { nanos: st.read.nanos, left: st.read.seen } : undefined;
      if (!st.read) from = -1n;
      else if (from === undefined || (from !== -1n && st.read.nanos < from)) from = st.read.nanos;
    }
    const since = from !== undefined && from > 0n ? sinceParam(from) : undefined;
    const tty = Boolean(info.Config?.Tty);
    const decoder = new DockerFrameDecoder();
    const onPayload = (stream: DockerStream, payload: Buffer) => {
      for (const m of splitMessages(stream, payload, tty)) this.message(m);
    };
    if (!follow) {
      const body = (await container.logs({ ...base, follow: false, ...(since ? { since } : {}) })) as Buffer;
      if (tty) onPayload('stdout', body);
      else for (const f of decoder.push(body)) onPayload(f.stream, f.payload);
      return;
    }
    const stream = await container.logs({ ...base, follow: true, ...(since ? { since } : {}) });
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        if (tty) onPayload('stdout', chunk);
        else for (const f of decoder.push(chunk)) onPayload(f.stream, f.payload);
      });
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', (err: Error) => (signal.aborted ? resolve() : reject(err)));
    });
  }

  private message(m: Message): void {
    const st = this.streams[m.stream];
    if (st.skip) {
      // Resuming: this stream's messages before its saved timestamp, and the first `seen` at it, were read before.
      if (m.nanos < st.skip.nanos) return;
      if (m.nanos === st.skip.nanos && st.skip.left > 0) {
        st.skip.left--;
        return;
      }
      st.skip = undefined;
    }
    if (st.read && st.read.nanos === m.nanos) st.read.seen++;
    else st.read = { nanos: m.nanos, seen: 1 };
    const nl = m.content.length > 0 && m.content[m.content.length - 1] === 0x0a;
    if (!nl) {
      st.parts.push(m.content);
      return;
    }
    let text = st.parts.length ? Buffer.concat([...st.parts, m.content]) : m.content;
    st.parts = [];
    text = text.subarray(0, text.length - 1);
    if (text.length && text[text.length - 1] === 0x0d) text = text.subarray(0, text.length - 1);
    this.emit(m.stream, text, m.timestamp);
  }

  private emit(stream: DockerStream, text: Buffer, timestamp: string): void {
    const st = this.streams[stream];
    st.line = { ...st.read! };
    const position: DockerLogPosition = { containerId: this.containerId! };
    for (const k of ['stdout', 'stderr'] as const) {
      const other = this.streams[k];
      if (other.line) position[k] = { nanos: other.line.nanos.toString(), seen: other.line.seen };
      // A stream that has sent nothing yet has nothing before this moment (the engine serves one
      // log in order): its cursor is here, with none seen, so a resume need not start at the beginning.
      else if (!other.read) position[k] = { nanos: st.line.nanos.toString(), seen: 0 };
    }
    this.opts.onLine({ stream, text, timestamp, position });
  }

  /** A last line without its newline (the container stopped mid-line) is still a line. */
  private flushPending(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const st = this.streams[stream];
      if (!st.parts.length || !st.read) continue;
      const text = Buffer.concat(st.parts);
      st.parts = [];
      this.emit(stream, text, new Date(Number(st.read.nanos / 1_000_000n)).toISOString());
    }
  }
}

interface Cursor {
  nanos: bigint;
  seen: number;
}

interface StreamState {
  /** The last message read (the first parts of a long line included). */
  read?: Cursor;
  /** The last message of the last complete line: what a position reports. */
  line?: Cursor;
  /** While resuming: skip what is before `nanos`, and `left` messages at it. */
  skip?: { nanos: bigint; left: number } | undefined;
  /** The first parts of a line longer than the engine's 16 KiB messages. */
  parts: Buffer[];
}

function newStream(): StreamState {
  return { parts: [] };
}

function toCursor(c: DockerStreamCursor): Cursor {
  return { nanos: BigInt(c.nanos), seen: c.seen };
}

/** The messages of one payload: one per frame, or (TTY) one per timestamped line. */
function splitMessages(stream: DockerStream, payload: Buffer, tty: boolean): Message[] {
  const out: Message[] = [];
  const one = (buf: Buffer) => {
    const sp = buf.indexOf(0x20);
    const ts = sp > 0 ? buf.toString('latin1', 0, sp) : '';
    const nanos = timestampNanos(ts);
    if (nanos === null) return; // not a message header: nothing the engine would send with timestamps=1
    out.push({ stream, timestamp: ts, nanos, content: buf.subarray(sp + 1) });
  };
  if (!tty) {
    one(payload);
    return out;
  }
  let start = 0;
  for (let i = payload.indexOf(0x0a); i !== -1; i = payload.indexOf(0x0a, start)) {
    one(payload.subarray(start, i + 1));
    start = i + 1;
  }
  if (start < payload.length) one(payload.subarray(start));
  return out;
}

function describe(err: unknown): string {
  const e = err as { statusCode?: number; message?: string; code?: string };
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return `docker engine unreachable (${e.code})`;
  return e.statusCode ? `docker engine answered ${e.statusCode}: ${e.message ?? ''}`.trim() : String(e.message ?? err);
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
