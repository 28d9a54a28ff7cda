/**
 * The checkpoint: per file, its identity and the offset up to which every line's counts have been
 * confirmed by the sinks; plus the TasksSentToExecutor dedupe state of the same moment.
 *
 * Written with write-to-temp + fsync + rename + fsync(dir), so a reader sees either the old or the
 * new checkpoint, never a torn one, even after SIGKILL or a power cut. The temp file is written
 * and synced *before* the flush is sent (`prepare`), so that once the sinks confirm, only an
 * atomic rename (`commit`) stands between "published" and "checkpointed".
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@windsock/core';
import type { SentKey } from './engine.ts';
import type { ContainerCheckpoint } from './inputs/container-input.ts';
import type { FileCheckpoint } from './inputs/file-tailer.ts';

/** What one checkpoint holds. */
export interface CheckpointState {
  version: 1;
  /** Epoch ms of the flush it belongs to. */
  savedAt: number;
  files: FileCheckpoint[];
  /** `docker://` inputs: the engine position of each (absent in checkpoints from before them). */
  containers?: ContainerCheckpoint[];
  /** Per stream: TIs sent to the executor and not yet reported back (the dedupe's memory). */
  sentKeys: Record<string, SentKey[]>;
}

const FILE = 'log-metrics.checkpoint.json';

/** Reads and writes the checkpoint under `stateDir`. */
export class CheckpointStore {
  readonly path: string;
  private readonly tmp: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, FILE);
    this.tmp = `${this.path}.tmp`;
  }

  /** Create the state directory (fails at start-up with a clear message if it cannot be written). */
  init(): void {
    try {
      mkdirSync(this.stateDir, { recursive: true });
    } catch (err) {
      throw new ConfigError(`stateDir ${this.stateDir} cannot be created: ${(err as Error).message}`);
    }
  }

  /** The last committed checkpoint, or undefined on a first start. A corrupt file is an error, not a silent reset. */
  load(): CheckpointState | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ConfigError(`cannot read the checkpoint ${this.path}: ${(err as Error).message}`);
    }
    try {
      const state = JSON.parse(text) as CheckpointState;
      if (state.version !== 1 || !Array.isArray(state.files)) throw new Error('unknown layout');
      state.sentKeys ??= {};
      return state;
    } catch (err) {
      throw new ConfigError(
        `the checkpoint ${this.path} is unreadable (${(err as Error).message}); move it away to start over (lines may then be counted again)`,
      );
    }
  }

  /** Write the next checkpoint to the temp file and sync it; nothing visible changes yet. */
  prepare(state: CheckpointState): void {
    const fd = openSync(this.tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Make the prepared checkpoint the current one (atomic rename, then sync the directory). */
  commit(): void {
    renameSync(this.tmp, this.path);
    try {
      const dir = openSync(this.stateDir, 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    } catch {
      /* some filesystems refuse fsync on a directory; the rename itself is already atomic */
    }
  }

  /** Drop a prepared checkpoint whose flush failed. */
  abandon(): void {
    try {
      unlinkSync(this.tmp);
    } catch {
      /* nothing prepared */
    }
  }

  /** prepare + commit. */
  save(state: CheckpointState): void {
    this.prepare(state);
    this.commit();
  }
}
