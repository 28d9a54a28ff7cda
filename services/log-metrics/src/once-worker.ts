/** Worker thread of `--once` (see once-parallel.ts): counts files from the shared list, posts its counts. */
import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '@windsock/core';
import type { OnceWorkerData, OnceWorkerResult } from './once-parallel.ts';
import { LogPipeline } from './pipeline.ts';

const data = workerData as OnceWorkerData;
const pipeline = new LogPipeline({
  cluster: data.cluster,
  inputs: data.inputs,
  startPosition: 'beginning',
  maxLineBytes: data.maxLineBytes,
  fingerprints: false,
  logger: silentLogger(),
});
const counter = new Int32Array(data.next);
for (;;) {
  const i = Atomics.add(counter, 0, 1);
  if (i >= data.files.length) break;
  pipeline.drainFiles([data.files[i]!]);
}
const stats = pipeline.stats();
const result: OnceWorkerResult = {
  series: pipeline.counts(),
  stats: {
    files: stats.trackedFiles,
    lines: stats.linesRead,
    bytes: stats.bytesRead,
    truncatedLines: stats.truncatedLines,
    droppedBytes: stats.droppedBytes,
  },
};
parentPort!.postMessage(result);
