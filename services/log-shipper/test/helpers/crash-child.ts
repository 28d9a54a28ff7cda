/**
 * A shipper process for the crash test: runs until SIGKILLed (or, with `once`, until all is confirmed).
 * It loads its modules first and says `ready`, then waits for its config on stdin, so the test can
 * start the next process while the current trial runs (module loading is most of a start's cost).
 */
import { createInterface } from 'node:readline';
import { createS3Client } from '@windsock/aws';
import { silentLogger } from '@windsock/core';
import { compileMarkers, DEFAULT_END_MARKERS } from '../../src/finish.ts';
import { noShipperMetrics } from '../../src/metrics.ts';
import { LogShipper } from '../../src/shipper.ts';

const s3 = createS3Client({ forcePathStyle: true, maxAttempts: 1, requestTimeoutMs: 5000 });
// The SDK loads its credential chain on first use: load it now, before `ready`.
await s3.config.credentials();
process.stdout.write('ready\n');
const line = await new Promise<string>((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
const cfg = JSON.parse(line) as { base: string; state: string; bucket: string; once: boolean };
const shipper = new LogShipper({
  s3,
  logger: silentLogger(),
  metrics: noShipperMetrics,
  baseLogFolder: cfg.base,
  remoteBaseLogFolder: `s3://${cfg.bucket}/logs`,
  taskLogInclude: ['**/*.log'],
  taskLogExclude: [],
  processLogs: [],
  stateDir: cfg.state,
  shipperId: 'crash',
  object: {},
  retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 500 },
  multipartThresholdBytes: 5 * 1024 * 1024,
  partSizeBytes: 5 * 1024 * 1024,
  maxConcurrentUploads: 8,
  liveIntervalMs: 100,
  activePollMs: 50,
  scanIntervalMs: 500,
  watch: false,
  finishQuietMs: 600_000,
  endMarkers: compileMarkers(DEFAULT_END_MARKERS),
  airflowUploads: 'off',
  airflowWatchMs: 0,
  airflowWatchIntervalMs: 1000,
  deleteAfterShipped: true,
  retainMs: 0,
  diskPressureFreeRatio: 0,
  fsyncJournal: false,
});
if (cfg.once) {
  const r = await shipper.runOnce(20);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(r.failed.length ? 1 : 0);
} else {
  await shipper.start();
  process.stdout.write('started\n');
}
