/**
 * A Docker container's log stream as a log-metrics input: `docker://<container name or id>`.
 *
 * stdout and stderr are two sources (a traceback on stderr must not be cut by a print on stdout),
 * and the checkpoint is the engine's own position (timestamp + messages at it), held back to the
 * first line whose record is still open, exactly like a file offset.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from '@windsock/core';
import {
  ContainerLogFollower,
  type DockerClient,
  type DockerLogLine,
  type DockerLogPosition,
  type DockerStream,
} from '@windsock/docker';
import type { LineHandler } from './lines.ts';

/** The path prefix that names a container instead of a file. */
export const DOCKER_INPUT_PREFIX = 'docker://';

/** Whether an input path names a Docker container. */
export function isContainerInput(path: string): boolean {
  return path.startsWith(DOCKER_INPUT_PREFIX);
}

/** A container input's persisted position. */
export interface ContainerCheckpoint {
  /** The input as configured (`docker://name`). */
  input: string;
  position: DockerLogPosition;
}

/** Options of {@link ContainerInput}. */
export interface ContainerInputOptions {
  /** `docker://<name or id>`. */
  input: string;
  docker: DockerClient;
  /** Where to start: a saved position, the first line, or only new lines. */
  from: 'beginning' | 'end' | DockerLogPosition;
  /** The counting handler of one of the container's streams. */
  handlerFor(stream: DockerStream): LineHandler;
  /** Quiet this long: the open records are finished (counted). */
  idleFinishMs: number;
  /** Longer lines are cut here (the rest is dropped and counted). */
  maxLineBytes: number;
  /** Keep following (service) or read to the end (`--once`). */
  follow: boolean;
  logger: Logger;
}

/** One line handed to a stream's handler and not yet known to be final. */
interface Handed {
  seq: number;
  position: DockerLogPosition;
}

/** Lines read, lines cut, per container input (for /status). */
export interface ContainerInputStats {
  lines: number;
  truncatedLines: number;
  droppedBytes: number;
  state: string;
  containerId?: string;
}

/** Follows one container's logs into the counting engine, with a checkpointable position. */
export class ContainerInput {
  readonly name: string;
  private readonly follower: ContainerLogFollower;
  private readonly handlers: Record<DockerStream, LineHandler>;
  /** Per stream, the sequence numbers of lines whose record may still be open (its last pendingLines()). */
  private readonly open: Record<DockerStream, number[]> = { stdout: [], stderr: [] };
  /** Lines of both streams from the one before the oldest open line on, in the order read. */
  private readonly recent: Handed[] = [];
  private seq = 0;
  /** The position after the newest line whose counts are final in every stream. */
  private committed?: DockerLogPosition;
  /** The newest line handed over. */
  private latest?: Handed;
  private idleTimer?: NodeJS.Timeout;
  readonly stats: ContainerInputStats = { lines: 0, truncatedLines: 0, droppedBytes: 0, state: 'waiting' };

  constructor(private readonly opts: ContainerInputOptions) {
    this.name = opts.input.slice(DOCKER_INPUT_PREFIX.length);
    if (!this.name) throw new Error(`input ${opts.input}: name a container, e.g. docker://airflow-scheduler`);
    this.handlers = { stdout: opts.handlerFor('stdout'), stderr: opts.handlerFor('stderr') };
    if (typeof opts.from === 'object') this.committed = opts.from;
    this.follower = new ContainerLogFollower({
      docker: opts.docker,
      container: this.name,
      from: opts.from,
      follow: opts.follow,
      onLine: (l) => this.line(l),
      onStatus: (s) => {
        this.stats.state = s.state;
        if (s.containerId) this.stats.containerId = s.containerId;
        const fields = { input: opts.input, containerId: s.containerId?.slice(0, 12), reason: s.reason };
        if (s.state === 'waiting') {
          opts.logger.warn(
            fields,
            `docker input ${this.name}: waiting (${s.reason}); it is read again as soon as the container runs`,
          );
        } else if (s.state === 'attached') opts.logger.info(fields, `docker input ${this.name}: following its logs`);
      },
    });
  }

  /** Start following (service). */
  start(): void {
    this.follower.start();
  }

  /** Read everything there is and finish the open records (`--once`). */
  async drain(): Promise<void> {
    await this.follower.drain();
    this.finish();
  }

  /** Stop following; open records are left for {@link finish} (shutdown calls it before the last flush). */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.follower.stop();
  }

  /** Finish both streams' open records: their lines are counted and the position may advance past them. */
  finish(): void {
    clearTimeout(this.idleTimer);
    this.handlers.stdout.finish();
    this.handlers.stderr.finish();
    this.settle();
  }

  /** The position to persist: every line before it is counted. Undefined before the first line. */
  checkpoint(): ContainerCheckpoint | undefined {
    this.settle();
    return this.committed ? { input: this.opts.input, position: this.committed } : undefined;
  }

  private line(l: DockerLogLine): void {
    const handler = this.handlers[l.stream];
    this.stats.lines++;
    let text = l.text;
    if (text.length > this.opts.maxLineBytes) {
      this.stats.truncatedLines++;
      this.stats.droppedBytes += text.length - this.opts.maxLineBytes;
      text = text.subarray(0, this.opts.maxLineBytes);
    }
    if (isUtf8(text)) handler.line(text.toString('utf8'));
    else handler.invalidLine();
    const handed = { seq: ++this.seq, position: l.position };
    this.latest = handed;
    this.recent.push(handed);
    this.open[l.stream].push(handed.seq);
    this.settle();
    clearTimeout(this.idleTimer);
    if (this.opts.follow) {
      this.idleTimer = setTimeout(() => this.finish(), this.opts.idleFinishMs);
      this.idleTimer.unref();
    }
  }

  /**
   * With m the oldest line still open in either stream (a stream's open lines are its last
   * `pendingLines()`), every line before m is counted: the committed position is the one after
   * line m - 1, whatever stream that line was on; with nothing open, the one after the latest line.
   */
  private settle(): void {
    let oldestOpen = Number.POSITIVE_INFINITY;
    for (const stream of ['stdout', 'stderr'] as const) {
      const list = this.open[stream];
      const pending = this.handlers[stream].pendingLines();
      if (list.length > pending) list.splice(0, list.length - pending);
      if (list.length && list[0]! < oldestOpen) oldestOpen = list[0]!;
    }
    if (oldestOpen === Number.POSITIVE_INFINITY) {
      if (this.latest) this.committed = this.latest.position;
      this.recent.length = 0;
      return;
    }
    let keepFrom = 0;
    while (keepFrom < this.recent.length && this.recent[keepFrom]!.seq < oldestOpen - 1) keepFrom++;
    if (keepFrom) this.recent.splice(0, keepFrom);
    const before = this.recent[0];
    if (before && before.seq === oldestOpen - 1) this.committed = before.position;
  }
}
