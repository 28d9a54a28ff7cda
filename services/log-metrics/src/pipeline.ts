/**
 * Inputs wired to the counting engine: files (with their checkpoints) and stdin. Knows nothing of
 * sinks or timers; `snapshot()` is the one synchronous cut that pairs counts with offsets.
 */

import { dagFromPath, inferComponent } from '@windsock/airflow';
import type { Logger } from '@windsock/core';
import type { CheckpointState } from './checkpoint.ts';
import type { CounterSeries } from './counters.ts';
import { CountingEngine } from './engine.ts';
import type { ContainerInput, ContainerInputStats } from './inputs/container-input.ts';
import { type FileInput, FileTailer, type StartPosition, type TailerStats } from './inputs/file-tailer.ts';
import { DOCKER_INPUT_PREFIX, isContainerInput } from './inputs/input-kind.ts';
import { type LineHandler, LineSplitter } from './inputs/lines.ts';
import { type OnceFile, type OnceStats, onceFiles, readFiles } from './inputs/once-reader.ts';
import type { CompiledRule } from './rules.ts';

/** Options of {@link LogPipeline}. */
export interface LogPipelineOptions {
  cluster: string;
  /** Files, globs and `-` (stdin); `docker://` inputs go to {@link containers}. */
  inputs: FileInput[];
  /** Builds the `docker://` inputs (the Docker package is loaded only when one is configured). */
  containers?: (pipeline: LogPipeline) => ContainerInput[];
  startPosition: StartPosition;
  checkpoint?: CheckpointState | undefined;
  /** Paths whose checkpoint entry was invalid: read from their end at start-up (see checkpoint.ts). */
  distrustedPaths?: Iterable<string> | undefined;
  rules?: readonly CompiledRule[];
  perDag?: { enabled: boolean; maxValues: number };
  maxLineBytes?: number;
  rescanIntervalMs?: number;
  idleFinishMs?: number;
  /** See FileTailerOptions.youngQuietMs. */
  youngQuietMs?: number;
  /** Fingerprint files for checkpoints and copytruncate detection (off for `--once`). */
  fingerprints?: boolean;
  logger: Logger;
  cwd?: string;
}

/** One cut: the counts since the previous cut and the checkpoint that goes with them. */
export interface PipelineSnapshot {
  series: CounterSeries[];
  checkpoint: CheckpointState;
}

/** Files and stdin -> counters. */
export class LogPipeline {
  readonly engine: CountingEngine;
  readonly tailer: FileTailer<FileInput> | undefined;
  private readonly stdinInputs: FileInput[];
  private readonly maxLineBytes: number;

  constructor(private readonly opts: LogPipelineOptions) {
    this.maxLineBytes = opts.maxLineBytes ?? 1 << 20;
    this.engine = new CountingEngine({
      cluster: opts.cluster,
      rules: opts.rules ?? [],
      perDag: opts.perDag,
      restoredSends: opts.checkpoint?.sentKeys,
    });
    const files = opts.inputs.filter((i) => i.path !== '-' && !isContainerInput(i.path));
    this.stdinInputs = opts.inputs.filter((i) => i.path === '-');
    this.tailer =
      files.length === 0
        ? undefined
        : new FileTailer<FileInput>({
            inputs: files,
            startPosition: opts.startPosition,
            checkpoint: opts.checkpoint?.files,
            distrustedPaths: opts.distrustedPaths,
            logger: opts.logger,
            cwd: opts.cwd,
            rescanIntervalMs: opts.rescanIntervalMs,
            idleFinishMs: opts.idleFinishMs,
            fingerprints: opts.fingerprints,
            youngQuietMs: opts.youngQuietMs,
            openFile: ({ path, input }) => {
              const handler = this.handlerFor(path, input);
              return (offset) => new LineSplitter(handler, offset, this.maxLineBytes);
            },
          });
  }

  /** The `docker://` inputs (built on first use, so the pipeline is complete first). */
  get containers(): ContainerInput[] {
    this.containerInputs ??= this.opts.containers?.(this) ?? [];
    return this.containerInputs;
  }
  private containerInputs?: ContainerInput[];

  /** The counting handler of one of a container's streams. */
  handlerForContainer(input: FileInput, stream: 'stdout' | 'stderr'): LineHandler {
    const name = input.path.slice(DOCKER_INPUT_PREFIX.length);
    return this.engine.source({
      component: input.component ?? inferComponent(name),
      queue: input.queue,
      dag: undefined,
      stream: `${input.path}#${stream}`,
    });
  }

  /** Follow the containers (service). */
  startContainers(): void {
    for (const c of this.containers) c.start();
  }

  /** Read every container's log to its end and count the last records (`--once`). */
  async drainContainers(): Promise<void> {
    await Promise.all(this.containers.map((c) => c.drain()));
  }

  /** Stop following the containers (shutdown; {@link finishAll} then counts their open records). */
  async stopContainers(): Promise<void> {
    await Promise.all(this.containers.map((c) => c.stop()));
  }

  /** The counting handler of one file. */
  handlerFor(path: string, input: FileInput): LineHandler {
    const component = input.component ?? inferComponent(path);
    return this.engine.source({
      component,
      queue: input.queue,
      dag: component === 'task' ? dagFromPath(path) : undefined,
      stream: input.path,
    });
  }

  /** Whether stdin is one of the inputs. */
  get readsStdin(): boolean {
    return this.stdinInputs.length > 0;
  }

  /** Check the files once (`rescan`: expand the globs now); true when some file has more to read right away. */
  poll(rescan = false): boolean {
    return this.tailer?.poll(Date.now(), rescan) ?? false;
  }

  /** Find and place every file without reading a line (the first start's checkpoint). */
  prime(): void {
    this.tailer?.prime();
  }

  /** `--once`: read every file to its end and count its last records (no tailing state kept). */
  drainFiles(files: Iterable<OnceFile> = onceFiles(this.opts.inputs, this.opts.cwd)): OnceStats {
    const stats = readFiles(files, (f) => this.handlerFor(f.path, this.opts.inputs[f.input]!), this.maxLineBytes);
    this.once.files += stats.files;
    this.once.lines += stats.lines;
    this.once.bytes += stats.bytes;
    this.once.truncatedLines += stats.truncatedLines;
    this.once.droppedBytes += stats.droppedBytes;
    return stats;
  }

  private readonly once: OnceStats = { files: 0, lines: 0, bytes: 0, truncatedLines: 0, droppedBytes: 0 };

  /** Count a stream (stdin) to its end; its lines have no offsets to checkpoint. */
  async drainStream(stream: AsyncIterable<Buffer | string>): Promise<void> {
    const input = this.stdinInputs[0] ?? { path: '-' };
    const source = this.engine.source({ component: input.component ?? 'unknown', queue: input.queue, stream: '-' });
    const splitter = new LineSplitter(source, 0, this.maxLineBytes);
    for await (const chunk of stream) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    splitter.flushPartial();
    splitter.finish();
  }

  /** Close every open record now (shutdown): their lines are then counted and checkpointed. */
  finishAll(): void {
    this.tailer?.finishAll();
    for (const c of this.containerInputs ?? []) c.finish();
  }

  /** The counts since the last snapshot, and the checkpoint that matches them exactly. */
  snapshot(now = Date.now()): PipelineSnapshot {
    const series = this.engine.drain();
    return {
      series,
      checkpoint: {
        version: 1,
        savedAt: now,
        files: this.tailer?.checkpoints() ?? [],
        containers: (this.containerInputs ?? []).flatMap((c) => c.checkpoint() ?? []),
        sentKeys: this.engine.persistSends(),
      },
    };
  }

  /** The counts since the last cut, without a checkpoint (`--once`). */
  counts(): CounterSeries[] {
    return this.engine.drain();
  }

  /** Tailer counters for `/status` and self-metrics. */
  stats(): TailerStats & { linesCounted: number; containers: Record<string, ContainerInputStats> } {
    const t = this.tailer?.stats() ?? {
      openFiles: 0,
      trackedFiles: 0,
      rotations: 0,
      truncations: 0,
      linesRead: 0,
      bytesRead: 0,
      truncatedLines: 0,
      droppedBytes: 0,
    };
    const o = this.once;
    return {
      ...t,
      trackedFiles: t.trackedFiles + o.files,
      linesRead: t.linesRead + o.lines,
      bytesRead: t.bytesRead + o.bytes,
      truncatedLines: t.truncatedLines + o.truncatedLines,
      droppedBytes: t.droppedBytes + o.droppedBytes,
      linesCounted: this.engine.lines,
      containers: Object.fromEntries((this.containerInputs ?? []).map((c) => [c.name, c.stats])),
    };
  }

  /** Release file descriptors. */
  close(): void {
    this.tailer?.close();
  }
}
