import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '@windsock/aws';
import { createLogger, silentLogger } from '@windsock/core';
import { testStack, useAwsEnv } from '../../../../test/helpers/stack.ts';
import { compileMarkers, DEFAULT_END_MARKERS } from '../../src/finish.ts';
import { noShipperMetrics } from '../../src/metrics.ts';
import { LogShipper, type LogShipperOptions } from '../../src/shipper.ts';

/** A unique bucket on the stack's moto, a temp base log folder and state dir. */
export interface ShipperFixture {
  s3: S3Client;
  bucket: string;
  base: string;
  state: string;
  dir: string;
  cleanup(): void;
}

/** Creates a bucket (unique per test) and temporary folders. */
export async function shipperFixture(name: string, endpoint?: string): Promise<ShipperFixture> {
  await testStack();
  await useAwsEnv(endpoint);
  const s3 = createS3Client({ forcePathStyle: true, maxAttempts: 1, requestTimeoutMs: 5000 });
  const bucket = `ls-${name}-${randomBytes(4).toString('hex')}`.toLowerCase();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const dir = mkdtempSync(join(tmpdir(), `ls-${name}-`));
  return {
    s3,
    bucket,
    base: join(dir, 'logs'),
    state: join(dir, 'state'),
    dir,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Shipper options tuned for tests (fast polls, quick finish); override what a test is about. */
export function testShipperOptions(fx: ShipperFixture, over: Partial<LogShipperOptions> = {}): LogShipperOptions {
  return {
    s3: fx.s3,
    logger: process.env.SHIPPER_TEST_LOG
      ? createLogger({ name: 'log-shipper', level: process.env.SHIPPER_TEST_LOG as 'debug' })
      : silentLogger(),
    metrics: noShipperMetrics,
    baseLogFolder: fx.base,
    remoteBaseLogFolder: `s3://${fx.bucket}/logs`,
    taskLogInclude: ['**/*.log'],
    taskLogExclude: ['scheduler/**'],
    processLogs: [],
    stateDir: fx.state,
    shipperId: 'host-a',
    object: {},
    retry: { attempts: 5, baseDelayMs: 50, maxDelayMs: 1000 },
    multipartThresholdBytes: 16 * 1024 * 1024,
    partSizeBytes: 5 * 1024 * 1024,
    maxConcurrentUploads: 16,
    liveIntervalMs: 1000,
    activePollMs: 250,
    scanIntervalMs: 2000,
    watch: true,
    finishQuietMs: 60_000,
    endMarkers: compileMarkers(DEFAULT_END_MARKERS),
    airflowUploads: 'off',
    airflowWatchMs: 10_000,
    airflowWatchIntervalMs: 300,
    deleteAfterShipped: false,
    retainMs: 0,
    diskPressureFreeRatio: 0,
    fsyncJournal: false,
    ...over,
  };
}

/** Starts a shipper (stop it in `finally`). */
export async function startShipper(opts: LogShipperOptions): Promise<LogShipper> {
  const s = new LogShipper(opts);
  await s.start();
  return s;
}

/** The object's bytes, or undefined when absent. */
export async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await o.Body!.transformToByteArray());
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
    throw err;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
