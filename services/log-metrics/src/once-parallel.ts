/**
 * `--once` on two (or more) cores: the main thread and worker threads take files from one shared
 * list (an atomic counter, no messages per file), each counting into its own engine; the workers'
 * counts are summed into the main thread's at the end. Scheduler logs stay on the main thread, so
 * a scheduler's rotated files share one TasksSentToExecutor dedupe.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@windsock/core';
import { inferComponent } from './component.ts';
import type { CounterSeries } from './counters.ts';
import type { FileInput } from './inputs/file-tailer.ts';
import type { OnceFile, OnceStats } from './inputs/once-reader.ts';
import type { LogPipeline } from './pipeline.ts';

/** What a worker needs to count files exactly as the main thread would. */
export interface OnceWorkerData {
  cluster: string;
  inputs: FileInput[];
  maxLineBytes: number;
  files: OnceFile[];
  /** Int32Array over a SharedArrayBuffer: [next file index]. */
  next: SharedArrayBuffer;
}

/** A worker's answer. */
export interface OnceWorkerResult {
  series: CounterSeries[];
  stats: OnceStats;
}

/** Below this many pooled files a second thread costs more (start-up) than it saves. */
const MIN_POOLED_FILES = 256;

/** Files that must stay on one thread: a scheduler's log stream (its dedupe spans its files). */
function streamBound(f: OnceFile, inputs: readonly FileInput[]): boolean {
  const input = inputs[f.input]!;
  const component = input.component ?? inferComponent(f.path);
  return component !== 'task' && component !== 'worker';
}

/**
 * Count `files` into `pipeline` using up to `threads` threads (main included). Returns the
 * workers' counts (to be added to the main pipeline's) and their stats.
 */
export async function countFilesInParallel(
  pipeline: LogPipeline,
  opts: { cluster: string; inputs: FileInput[]; maxLineBytes: number; logger: Logger; threads?: number },
  files: OnceFile[],
): Promise<OnceWorkerResult[]> {
  const bound = files.filter((f) => streamBound(f, opts.inputs));
  const pooled = files.filter((f) => !streamBound(f, opts.inputs));
  const threads = Math.min(opts.threads ?? availableParallelism(), 4);
  if (threads < 2 || pooled.length < MIN_POOLED_FILES) {
    pipeline.drainFiles(files);
    return [];
  }
  const next = new SharedArrayBuffer(4);
  const counter = new Int32Array(next);
  const data: OnceWorkerData = {
    cluster: opts.cluster,
    inputs: opts.inputs,
    maxLineBytes: opts.maxLineBytes,
    files: pooled,
    next,
  };
  const workers = Array.from({ length: threads - 1 }, () => startWorker(data));
  // The main thread takes the stream-bound files first, then helps with the pool.
  pipeline.drainFiles(bound);
  for (;;) {
    const i = Atomics.add(counter, 0, 1);
    if (i >= pooled.length) break;
    pipeline.drainFiles([pooled[i]!]);
  }
  return Promise.all(workers);
}

function startWorker(data: OnceWorkerData): Promise<OnceWorkerResult> {
  const worker = new Worker(new URL('./once-worker.mjs', import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: OnceWorkerResult) => resolve(m));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`log-metrics worker thread exited with code ${code}`));
    });
  });
}
