/**
 * `--once` on two (or more) cores, when `logMetrics.onceThreads` asks for it: the main thread and
 * worker threads take files from one shared list (an atomic counter, no messages per file), each
 * counting into its own engine; the workers' counts are summed into the main thread's at the end.
 * Scheduler logs stay on the main thread, so a scheduler's rotated files share one
 * TasksSentToExecutor dedupe. The list holds every path and each worker thread has its own heap
 * and TypeScript loader (on the bench corpus 2 threads peak at ~290 MB RSS, 1 at ~140 MB), so one
 * thread, which reads the files as the walk finds them, is the default.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { inferComponent } from '@windsock/airflow';
import type { Logger } from '@windsock/core';
import type { CounterSeries } from './counters.ts';
import type { FileInput } from './inputs/file-tailer.ts';
import { listFiles, type OnceFile, type OnceStats, onceFiles } from './inputs/once-reader.ts';
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
 * Count the files the inputs name into `pipeline` using up to `threads` threads (main included;
 * undefined: one per core, at most 4). Returns the workers' counts (to be added to the main
 * pipeline's) and their stats.
 */
export async function countFilesInParallel(
  pipeline: LogPipeline,
  opts: { cluster: string; inputs: FileInput[]; maxLineBytes: number; logger: Logger; threads?: number },
): Promise<OnceWorkerResult[]> {
  const threads = Math.min(opts.threads ?? availableParallelism(), 4);
  if (threads < 2) {
    pipeline.drainFiles(onceFiles(opts.inputs));
    return [];
  }
  const files = listFiles(opts.inputs);
  const bound = files.filter((f) => streamBound(f, opts.inputs));
  const pooled = files.filter((f) => !streamBound(f, opts.inputs));
  if (pooled.length < MIN_POOLED_FILES) {
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
