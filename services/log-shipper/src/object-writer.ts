import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { S3Putter } from '@windsock/aws';
import { backoffMs, failureReason, isRetryable, type RetryPolicy, sleep } from './retry.ts';

/** Server-side encryption and tagging applied to every object written. */
export interface ObjectOptions {
  sse?: 'none' | 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** Object tags (URL-encoded into x-amz-tagging). */
  tags?: Record<string, string>;
  contentType?: string;
}

/** Where a write may land: only if no object exists, or only over the object with this ETag. */
export type WriteCondition = { ifNoneMatch: true } | { ifMatch: string } | { unconditional: true };

/**
 * A confirmed write: the object is exactly `size` bytes whose SHA-256 is `sha256`; for a multipart
 * upload, `sha256` is the composite S3 keeps (SHA-256 over each `partSize` piece's SHA-256, without
 * the `-N`), so every byte is hashed once.
 */
export interface WriteResult {
  etag: string;
  sha256: string;
  size: number;
  parts: number;
  /** Set for multipart uploads: the piece size `sha256` is a composite over. */
  partSize?: number;
  attempts: number;
}

/** The object changed under us (HTTP 412): someone else wrote the key. */
export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}

/** S3 stored something other than what was sent (checksum mismatch); `etag` is what it stored. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  constructor(
    message: string,
    readonly etag: string | undefined,
  ) {
    super(message);
  }
}

/** Settings of an {@link ObjectWriter}. */
export interface ObjectWriterOptions {
  s3: S3Client;
  object: ObjectOptions;
  retry: RetryPolicy;
  /** Files at least this large go up in parts (S3's minimum part is 5 MiB). */
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Called before each retry with the failure's short reason (for metrics and logs). */
  onRetry?: (reason: string, err: unknown) => void;
  /** Parts of one multipart upload in flight at once (default 4). */
  partsInFlight?: number;
  /** Part buffers held in memory across all uploads of this writer, in bytes (default 64 MiB). */
  multipartMemoryBytes?: number;
}

/**
 * The part buffers of all multipart uploads, within one byte budget: a buffer is lent for a part
 * and kept for the next one when returned, so parts reuse the same memory instead of leaving a
 * new 8 MiB buffer per part to the garbage collector. Lent and kept buffers together stay within
 * the budget (a part larger than the whole budget runs alone); kept ones are dropped once no
 * multipart upload has needed them for a few seconds.
 */
class PartBuffers {
  private lentBytes = 0;
  private kept: Buffer[] = [];
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly waiting: { bytes: number; resolve: (buf: Buffer) => void }[] = [];

  constructor(private readonly maxBytes: number) {}

  /** Waits until `bytes` fit, then lends a buffer of that length; `release` returns it. */
  async acquire(bytes: number): Promise<{ buf: Buffer; release: () => void }> {
    const whole =
      (this.waiting.length === 0 ? this.take(bytes) : undefined) ??
      (await new Promise<Buffer>((resolve) => this.waiting.push({ bytes, resolve })));
    let released = false;
    return {
      buf: whole.length === bytes ? whole : whole.subarray(0, bytes),
      release: () => {
        if (released) return;
        released = true;
        this.lentBytes -= whole.length;
        this.kept.push(whole);
        while (this.waiting.length > 0) {
          const buf = this.take(this.waiting[0]!.bytes);
          if (!buf) break;
          this.waiting.shift()!.resolve(buf);
        }
        if (this.lentBytes === 0 && !this.dropTimer) {
          this.dropTimer = setTimeout(() => {
            this.dropTimer = undefined;
            if (this.lentBytes === 0) this.kept = [];
          }, 5000).unref();
        }
      },
    };
  }

  /** A kept buffer that fits `bytes` (at most twice as large), or a new one once there is room; else undefined. */
  private take(bytes: number): Buffer | undefined {
    const i = this.kept.findIndex((b) => b.length >= bytes && b.length <= 2 * bytes);
    let buf: Buffer | undefined;
    if (i >= 0) {
      buf = this.kept.splice(i, 1)[0]!;
    } else {
      // Kept buffers of other sizes give way to the new one.
      while (this.kept.length > 0 && this.lentBytes + this.keptBytes() + bytes > this.maxBytes) this.kept.shift();
      if (this.lentBytes > 0 && this.lentBytes + this.keptBytes() + bytes > this.maxBytes) return undefined;
      buf = Buffer.allocUnsafe(bytes);
    }
    this.lentBytes += buf.length;
    return buf;
  }

  private keptBytes(): number {
    let n = 0;
    for (const b of this.kept) n += b.length;
    return n;
  }
}

const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/** The part size of a multipart upload of `size` bytes: the configured one, grown to stay within S3's limits. */
function multipartPartSize(size: number, configuredBytes: number): number {
  return Math.max(MIN_PART, configuredBytes, Math.ceil(size / MAX_PARTS));
}

/**
 * Writes the first `size` bytes of a local file to one S3 key, conditionally, with SHA-256
 * checksums sent and compared with what S3 computed, in parts above a threshold, retrying
 * throttling/5xx/timeouts/resets with full-jitter backoff.
 */
export class ObjectWriter {
  private readonly buffers: PartBuffers;
  /** PutObject and UploadPart without the SDK's per-request middleware (most of the CPU per small file). */
  private readonly putter: S3Putter;

  constructor(private readonly o: ObjectWriterOptions) {
    this.buffers = new PartBuffers(o.multipartMemoryBytes ?? 64 * 1024 * 1024);
    this.putter = new S3Putter(o.s3);
  }

  /** Uploads `path[0, size)` to `bucket/key`; throws {@link PreconditionFailedError} when the condition fails. */
  async write(
    bucket: string,
    key: string,
    path: string,
    size: number,
    condition: WriteCondition,
    signal?: AbortSignal,
    expect?: FileIdentity,
  ): Promise<WriteResult> {
    if (size >= Math.max(this.o.multipartThresholdBytes, MIN_PART)) {
      return this.retrying(signal, (attempt) =>
        this.writeMultipart(bucket, key, path, size, condition, attempt, expect),
      );
    }
    const body = await readRange(path, 0, size, expect);
    const sha256 = createHash('sha256').update(body).digest('base64');
    return this.retrying(signal, async (attempt) => {
      try {
        const out = await this.putter.putObject(
          {
            Bucket: bucket,
            Key: key,
            Body: body,
            ChecksumSHA256: sha256,
            ...this.objectParams(),
            ...conditionParams(condition),
          },
          signal ? { abortSignal: signal } : {},
        );
        if (out.ChecksumSHA256 !== undefined && out.ChecksumSHA256 !== sha256) {
          throw new IntegrityError(`S3 stored checksum ${out.ChecksumSHA256}, sent ${sha256}`, out.ETag);
        }
        return { etag: out.ETag ?? '', sha256, size, parts: 1, attempts: attempt + 1 };
      } catch (err) {
        if (isPrecondition(err) && attempt > 0) {
          // An earlier attempt may have landed before its response was lost: check what is there now.
          const landed = await this.headIfSame(bucket, key, sha256, size, signal);
          if (landed) return { etag: landed, sha256, size, parts: 1, attempts: attempt + 1 };
        }
        throw err;
      }
    });
  }

  private async writeMultipart(
    bucket: string,
    key: string,
    path: string,
    size: number,
    condition: WriteCondition,
    attempt: number,
    expect?: FileIdentity,
  ): Promise<WriteResult> {
    const partSize = multipartPartSize(size, this.o.partSizeBytes);
    const created = await this.o.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ChecksumAlgorithm: 'SHA256',
        ...this.objectParams(),
      }),
    );
    const uploadId = created.UploadId!;
    const digests: Buffer[] = [];
    const parts: { PartNumber: number; ETag: string; ChecksumSHA256: string }[] = [];
    const fh = await open(path, 'r');
    try {
      checkIdentity(await fh.stat(), expect);
    } catch (err) {
      await fh.close();
      await this.o.s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
    const inFlight = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    const partsInFlight = Math.max(1, this.o.partsInFlight ?? 4);
    try {
      // Parts are read in order and sent in parallel, each holding its buffer from the shared budget
      // until S3 has answered for it. Each part is hashed once: its SHA-256 is the part's checksum,
      // its signed payload hash, and a term of the composite the journal keeps for the whole object.
      for (let offset = 0, n = 1; offset < size && !failure; offset += partSize, n++) {
        const len = Math.min(partSize, size - offset);
        const { buf, release } = await this.buffers.acquire(len);
        try {
          await readFully(fh, buf, offset);
        } catch (err) {
          release();
          throw err;
        }
        const digest = createHash('sha256').update(buf).digest();
        const sum = digest.toString('base64');
        const partNumber = n;
        digests[partNumber - 1] = digest;
        const sent: Promise<void> = this.sendPart(bucket, key, uploadId, partNumber, buf, sum)
          .then((out) => {
            if (out.ChecksumSHA256 !== undefined && out.ChecksumSHA256 !== sum) {
              throw new IntegrityError(
                `part ${partNumber}: S3 stored checksum ${out.ChecksumSHA256}, sent ${sum}`,
                undefined,
              );
            }
            parts[partNumber - 1] = { PartNumber: partNumber, ETag: out.ETag ?? '', ChecksumSHA256: sum };
          })
          .catch((err: unknown) => {
            failure ??= { err };
          })
          .finally(() => {
            release();
            inFlight.delete(sent);
          });
        inFlight.add(sent);
        if (inFlight.size >= partsInFlight) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (failure) throw failure.err;
      const sha256 = createHash('sha256').update(Buffer.concat(digests)).digest('base64');
      const composite = `${sha256}-${parts.length}`;
      let done: { ETag?: string; ChecksumSHA256?: string };
      try {
        done = await this.o.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ...conditionParams(condition),
          }),
        );
      } catch (err) {
        if (isPrecondition(err) && attempt > 0) {
          const landed = await this.headIfSame(bucket, key, composite, size);
          if (landed) return { etag: landed, sha256, size, parts: parts.length, partSize, attempts: attempt + 1 };
        }
        throw err;
      }
      if (done.ChecksumSHA256 !== undefined && stripPartCount(done.ChecksumSHA256) !== stripPartCount(composite)) {
        throw new IntegrityError(`S3 composite checksum ${done.ChecksumSHA256}, expected ${composite}`, done.ETag);
      }
      return { etag: done.ETag ?? '', sha256, size, parts: parts.length, partSize, attempts: attempt + 1 };
    } catch (err) {
      await Promise.allSettled(inFlight);
      // Parts of a failed upload cost storage until aborted.
      await this.o.s3
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    } finally {
      await fh.close();
    }
  }

  private async sendPart(bucket: string, key: string, uploadId: string, n: number, body: Buffer, sum: string) {
    // Parts retry on their own so one reset does not restart a 100 MB upload.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.putter.uploadPart({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: n,
          Body: body,
          ChecksumSHA256: sum,
        });
      } catch (err) {
        if (!isRetryable(err) || attempt + 1 >= this.o.retry.attempts) throw err;
        this.o.onRetry?.(failureReason(err), err);
        await sleep(backoffMs(this.o.retry, attempt));
      }
    }
  }

  /** HEAD with checksums; undefined when the key does not exist. */
  async head(
    bucket: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<{ etag: string; size: number; sha256?: string } | undefined> {
    return this.retrying(signal, async () => {
      try {
        const h = await this.o.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), {
          abortSignal: signal,
        });
        return {
          etag: h.ETag ?? '',
          size: h.ContentLength ?? 0,
          ...(h.ChecksumSHA256 ? { sha256: h.ChecksumSHA256 } : {}),
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  /** The object's bytes and ETag; undefined when the key does not exist. */
  async get(bucket: string, key: string, signal?: AbortSignal): Promise<{ body: Buffer; etag: string } | undefined> {
    return this.retrying(signal, async () => {
      try {
        const out = await this.o.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        const bytes = await out.Body!.transformToByteArray();
        return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: out.ETag ?? '' };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    });
  }

  private async headIfSame(
    bucket: string,
    key: string,
    sha256: string,
    size: number,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const h = await this.head(bucket, key, signal);
    if (h && h.size === size && h.sha256 && stripPartCount(h.sha256) === stripPartCount(sha256)) return h.etag;
    return undefined;
  }

  private objectParams() {
    const { sse, kmsKeyId, tags, contentType } = this.o.object;
    return {
      ContentType: contentType ?? 'text/plain; charset=utf-8',
      ...(sse && sse !== 'none' ? { ServerSideEncryption: sse as ServerSideEncryption } : {}),
      ...(sse === 'aws:kms' && kmsKeyId ? { SSEKMSKeyId: kmsKeyId } : {}),
      ...(tags && Object.keys(tags).length ? { Tagging: new URLSearchParams(tags).toString() } : {}),
    };
  }

  private async retrying<T>(signal: AbortSignal | undefined, fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (signal?.aborted || !isRetryable(err) || attempt + 1 >= this.o.retry.attempts) throw err;
        this.o.onRetry?.(failureReason(err), err);
        await sleep(backoffMs(this.o.retry, attempt), signal);
      }
    }
  }
}

function conditionParams(c: WriteCondition) {
  if ('ifNoneMatch' in c) return { IfNoneMatch: '*' };
  if ('ifMatch' in c) return { IfMatch: c.ifMatch };
  return {};
}

/** True for HTTP 412 (and the conditional-write conflict 409 S3 returns during a concurrent write). */
export function isPrecondition(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === 'PreconditionFailed' ||
    e?.$metadata?.httpStatusCode === 412 ||
    (e?.name === 'ConditionalRequestConflict' && e?.$metadata?.httpStatusCode === 409)
  );
}

/**
 * True when a write conditional on an ETag failed because the key holds no object at all (S3 answers
 * `If-Match` on a missing key with 404 NoSuchKey); a missing bucket or multipart upload is not this.
 */
export function isObjectGone(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || (e?.name === 'NotFound' && e?.$metadata?.httpStatusCode === 404);
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function stripPartCount(checksum: string): string {
  return checksum.replace(/-\d+$/, '');
}

/** The file a read must come from: a path may name another file after a rotation or a replacement. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

function checkIdentity(st: { dev: number; ino: number }, expect: FileIdentity | undefined): void {
  if (expect && (st.ino !== expect.ino || st.dev !== expect.dev)) {
    throw Object.assign(new Error('the path now names another file (rotated or replaced)'), { code: 'EMOVED' });
  }
}

/** Ranges up to this size are read synchronously (see {@link readRange}). */
const SYNC_READ_MAX_BYTES = 1024 * 1024;

/** Reads exactly `length` bytes from `offset`; a file that shrank underneath is an error, not short data. */
export async function readRange(path: string, offset: number, length: number, expect?: FileIdentity): Promise<Buffer> {
  // A small read from the page cache takes microseconds; the promise FileHandle API's open/read/close
  // round trips through the thread pool cost far more than that (the bench's profile: most of the
  // shipper's CPU per small file). Large ranges stay asynchronous so they never stall the event loop.
  if (length <= SYNC_READ_MAX_BYTES) return readRangeSync(path, offset, length, expect);
  const fh = await open(path, 'r');
  try {
    checkIdentity(await fh.stat(), expect);
    const buf = Buffer.allocUnsafe(length);
    await readFully(fh, buf, offset);
    return buf;
  } finally {
    await fh.close();
  }
}

function readRangeSync(path: string, offset: number, length: number, expect?: FileIdentity): Buffer {
  const fd = openSync(path, 'r');
  try {
    if (expect) checkIdentity(fstatSync(fd), expect);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) throw Object.assign(new Error('file shrank while being read'), { code: 'ESHRANK' });
      done += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * The digest a journal record keeps for `path[0, size)`: its SHA-256, or with `partSize` the
 * multipart composite (SHA-256 over each piece's SHA-256). Reads at most 8 MiB at a time.
 */
export async function prefixDigest(path: string, size: number, partSize?: number): Promise<string> {
  if (!partSize && size <= SYNC_READ_MAX_BYTES) {
    return createHash('sha256')
      .update(readRangeSync(path, 0, size))
      .digest('base64');
  }
  const fh = await open(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(size, 8 * 1024 * 1024));
    const whole = createHash('sha256');
    const digests: Buffer[] = [];
    let part = createHash('sha256');
    let inPart = 0;
    for (let offset = 0; offset < size; ) {
      const len = Math.min(chunk.length, size - offset, partSize ? partSize - inPart : size);
      const view = chunk.subarray(0, len);
      await readFully(fh, view, offset);
      offset += len;
      if (!partSize) {
        whole.update(view);
        continue;
      }
      part.update(view);
      inPart += len;
      if (inPart === partSize || offset === size) {
        digests.push(part.digest());
        part = createHash('sha256');
        inPart = 0;
      }
    }
    return partSize ? createHash('sha256').update(Buffer.concat(digests)).digest('base64') : whole.digest('base64');
  } finally {
    await fh.close();
  }
}

async function readFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, offset: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done);
    if (bytesRead === 0) throw Object.assign(new Error('file shrank while being read'), { code: 'ESHRANK' });
    done += bytesRead;
  }
}
