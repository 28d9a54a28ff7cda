/**
 * A Docker container's log stream as a log-metrics input: `docker://<container name or id>`.
 *
 * stdout and stderr are two sources (a traceback on stderr must not be cut by a print on stdout),
 * and the checkpoint is the engine's own position per stream (timestamp + messages at it), each
 * held back before that stream's first line whose record is still open, exactly like a file offset.
 */
import { isUtf8 } from 'node:buffer';
import type { Logger } from '@windsock/core';
import {
  ContainerLogFollower,
  type DockerClient,
  type DockerLogLine,
  type DockerLogPosition,
  type DockerStream,
  type DockerStreamCursor,
} from '@windsock/docker';
import { DOCKER_INPUT_PREFIX } from './input-kind.ts';
import type { LineHandler } from './lines.ts';

export { DOCKER_INPUT_PREFIX, isContainerInput } from './input-kind.ts';

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
  /**
   * Per stream: that stream's cursor after each line from the one before its oldest open line on
   * (its open lines are its last `pendingLines()`), and the cursor every earlier line is counted by.
   */
  private readonly lines: Record<DockerStream, DockerStreamCursor[]> = { stdout: [], stderr: [] };
  private readonly committed: Partial<Record<DockerStream, DockerStreamCursor>> = {};
  private containerId?: string;
  private idleTimer?: NodeJS.Timeout;
  readonly stats: ContainerInputStats = { lines: 0, truncatedLines: 0, droppedBytes: 0, state: 'waiting' };

  constructor(private readonly opts: ContainerInputOptions) {
    this.name = opts.input.slice(DOCKER_INPUT_PREFIX.length);
    if (!this.name) throw new Error(`input ${opts.input}: name a container, e.g. docker://airflow-scheduler`);
    this.handlers = { stdout: opts.handlerFor('stdout'), stderr: opts.handlerFor('stderr') };
    if (typeof opts.from === 'object') {
      this.containerId = opts.from.containerId;
      if (opts.from.stdout) this.committed.stdout = opts.from.stdout;
      if (opts.from.stderr) this.committed.stderr = opts.from.stderr;
    }
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

  /** The position to persist: every line before it, in both streams, is counted. Undefined before any line. */
  checkpoint(): ContainerCheckpoint | undefined {
    this.settle();
    if (!this.containerId) return undefined;
    return { input: this.opts.input, position: { containerId: this.containerId, ...this.committed } };
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
    if (l.position.containerId !== this.containerId) {
      // Another container under the name: its log is new, nothing of the old one's position holds.
      this.containerId = l.position.containerId;
      this.committed.stdout = undefined;
      this.committed.stderr = undefined;
      this.lines.stdout = [];
      this.lines.stderr = [];
    }
    this.lines[l.stream].push(l.position[l.stream]!);
    this.settle();
    clearTimeout(this.idleTimer);
    if (this.opts.follow) {
      this.idleTimer = setTimeout(() => this.finish(), this.opts.idleFinishMs);
      this.idleTimer.unref();
    }
  }

  /** Per stream: the cursor after its newest line before its oldest open line becomes the committed one. */
  private settle(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const list = this.lines[stream];
      const pending = this.handlers[stream].pendingLines();
      if (list.length > pending) {
        this.committed[stream] = list[list.length - pending - 1];
        list.splice(0, list.length - pending - 1);
      }
    }
  }
}
