import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** How to build an S3 client; every field is optional and falls back to the SDK's own chain. */
export interface S3ClientOptions {
  /** AWS region; default: the SDK's chain (AWS_REGION, profile, IMDS). */
  region?: string;
  /** Endpoint override (moto, MinIO, a VPC endpoint); default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL or AWS. */
  endpoint?: string;
  /** Path-style addressing (required by moto and most S3-compatible servers). */
  forcePathStyle?: boolean;
  /** Sockets kept per host; bounds concurrency at the transport. */
  maxSockets?: number;
  /** Abort a request whose socket is idle this long (the caller retries it). */
  requestTimeoutMs?: number;
  /** Abort a connection attempt after this long. */
  connectionTimeoutMs?: number;
  /** SDK-level attempts; 1 when the caller runs its own retry loop. */
  maxAttempts?: number;
}

/**
 * An S3 client with keep-alive sockets and explicit timeouts.
 *
 * @example
 * const s3 = createS3Client({ region: 'eu-west-1', forcePathStyle: true, maxAttempts: 1 });
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const maxSockets = options.maxSockets ?? 64;
  const agentOptions = { keepAlive: true, maxSockets };
  return new S3Client({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      // Without this, smithy only warns about a request that exceeded requestTimeout and keeps waiting.
      throwOnRequestTimeout: true,
    }),
  });
}

/** An `s3://bucket/prefix` URL split into its parts (prefix without leading or trailing slash). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** Parses `s3://bucket[/prefix]`; throws a one-line error naming the expected form. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m?.[1]) throw new Error(`expected an S3 URL like s3://bucket/prefix, got ${JSON.stringify(url)}`);
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/\/+$/, '') };
}
