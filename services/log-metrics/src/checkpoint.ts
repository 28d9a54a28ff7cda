/**
 * The checkpoint: per file, its identity and the offset up to which every line's counts have been
 * confirmed by the sinks; plus the TasksSentToExecutor dedupe state of the same moment.
 *
 * Written with @windsock/logfiles' AtomicFile (temp + fsync + rename + fsync(dir)), so a reader
 * sees either the old or the new checkpoint, never a torn one, even after SIGKILL or a power cut.
 * The temp file is written and synced *before* the flush is sent (`prepare`), so that once the
 * sinks confirm, only an atomic rename (`commit`) stands between "published" and "checkpointed".
 *
 * Loading validates every entry (zod): an invalid file entry is dropped with a warning that says
 * what happens to that file (it is read from its end: nothing is counted twice, lines written
 * while the service was down are not counted); the rest of the checkpoint is used.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Logger, silentLogger, z } from '@windsock/core';
import { AtomicFile, FINGERPRINT_BYTES } from '@windsock/logfiles';
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

/** A loaded checkpoint, with the paths whose entries were invalid (see the module comment). */
export interface LoadedCheckpoint extends CheckpointState {
  distrustedPaths: string[];
}

const FILE = 'log-metrics.checkpoint.json';

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const fileEntry = z.object({
  path: z.string().min(1),
  dev: z.number().int().min(0),
  ino: z.number().int().min(0),
  fingerprintBytes: z.number().int().min(0).max(FINGERPRINT_BYTES),
  // SHA-256/128 (32 hex digits), or SHA-1/80 (20) from checkpoints written before @windsock/logfiles.
  fingerprint: z.string().regex(/^(|[0-9a-f]{20}|[0-9a-f]{32})$/),
  offset,
});
const sentKey = z.object({ key: z.string(), tryNumber: z.number().int().optional() });
const layout = z.object({
  version: z.literal(1),
  savedAt: z.number().optional(),
  files: z.array(z.unknown()),
  containers: z.array(z.unknown()).optional(),
  sentKeys: z.unknown().optional(),
});
const containerEntry = z.object({ input: z.string().min(1), position: z.unknown() }).loose();

/** The first zod issue as `path: message`. */
function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`;
}

/** Reads and writes the checkpoint under `stateDir`. */
export class CheckpointStore {
  readonly path: string;
  private readonly file: AtomicFile;

  constructor(
    readonly stateDir: string,
    private readonly logger: Logger = silentLogger(),
  ) {
    this.path = join(stateDir, FILE);
    this.file = new AtomicFile(this.path);
  }

  /** Where the next checkpoint is prepared. */
  get tmpPath(): string {
    return this.file.tmp;
  }

  /** Create the state directory (fails at start-up with a clear message if it cannot be written). */
  init(): void {
    try {
      this.file.prepare('{}');
      this.file.abandon();
    } catch (err) {
      throw new ConfigError(
        `stateDir ${this.stateDir} cannot be written (${(err as Error).message}): set stateDir (--state-dir, WINDSOCK_STATE_DIR) to a writable directory`,
      );
    }
  }

  /**
   * The last committed checkpoint, or undefined on a first start. A file that is not a checkpoint
   * at all is an error (the service does not start); invalid entries are dropped one by one.
   */
  load(): LoadedCheckpoint | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ConfigError(`cannot read the checkpoint ${this.path}: ${(err as Error).message}`);
    }
    let raw: z.output<typeof layout>;
    try {
      const parsed = layout.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(firstIssue(parsed.error));
      raw = parsed.data;
    } catch (err) {
      throw new ConfigError(
        `the checkpoint ${this.path} is unreadable (${(err as Error).message}). To start anyway, move it away: ` +
          'the service then starts as on a first start, reading the files present from their end, so lines written ' +
          'since the last checkpoint are NOT counted (none is counted twice); or set startPosition=beginning to count ' +
          'every line of the files present again',
      );
    }
    const files: FileCheckpoint[] = [];
    const distrustedPaths: string[] = [];
    raw.files.forEach((entry, i) => {
      const ok = fileEntry.safeParse(entry);
      if (ok.success) {
        files.push(ok.data);
        return;
      }
      const path =
        typeof (entry as { path?: unknown })?.path === 'string' ? (entry as { path: string }).path : undefined;
      if (path) distrustedPaths.push(path);
      this.logger.warn(
        { checkpoint: this.path, entry: i, path, problem: firstIssue(ok.error) },
        path
          ? 'invalid checkpoint entry dropped: this file is read from its end (nothing counted twice; lines written while the service was down are not counted)'
          : 'invalid checkpoint entry dropped (it names no file): a file it described is taken for a new file and read from its start',
      );
    });
    const containers: ContainerCheckpoint[] = [];
    for (const entry of raw.containers ?? []) {
      const ok = containerEntry.safeParse(entry);
      if (ok.success) containers.push(ok.data as unknown as ContainerCheckpoint);
      else
        this.logger.warn({ checkpoint: this.path, problem: firstIssue(ok.error) }, 'invalid container entry dropped');
    }
    const sent = z.record(z.string(), z.array(sentKey)).safeParse(raw.sentKeys ?? {});
    if (!sent.success) {
      this.logger.warn(
        { checkpoint: this.path, problem: firstIssue(sent.error) },
        'invalid TasksSentToExecutor memory dropped: a task sent before the restart is counted again if its send line is read again',
      );
    }
    return {
      version: 1,
      savedAt: raw.savedAt ?? 0,
      files,
      containers,
      sentKeys: sent.success ? (sent.data as Record<string, SentKey[]>) : {},
      distrustedPaths,
    };
  }

  /** Write the next checkpoint to the temp file and sync it (creating a deleted state dir); nothing visible changes yet. */
  prepare(state: CheckpointState): void {
    this.file.prepare(JSON.stringify(state));
  }

  /** Make the prepared checkpoint the current one (atomic rename, then sync the directory). */
  commit(): void {
    this.file.commit();
  }

  /** Drop a prepared checkpoint whose flush failed. */
  abandon(): void {
    this.file.abandon();
  }

  /** prepare + commit. */
  save(state: CheckpointState): void {
    this.file.write(JSON.stringify(state));
  }
}
