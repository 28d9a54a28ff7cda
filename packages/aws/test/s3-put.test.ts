/**
 * S3Putter sends PutObject and UploadPart without the SDK's middleware stack. These tests hold it
 * to the SDK's behaviour against moto: the same keys for every character Airflow's paths can hold
 * (the path is the SDK's own serialisation), signatures that an independent SigV4 implementation
 * accepts (moto with IAM auth on checks them with botocore), errors shaped like the SDK's, and one
 * SHA-256 per body (the checksum is the signed payload hash).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { startFaultProxy } from '../../../test/helpers/faultproxy.ts';
import { freePort, startMoto, testStack, useAwsEnv } from '../../../test/helpers/stack.ts';
import { createS3Client, encodeKey, S3Putter } from '../src/index.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/** Keys like Airflow's (run ids with `:` and `+`, `=` in every segment) and every character class besides. */
const KEYS = [
  'logs/dag_id=etl/run_id=scheduled__2025-01-01T00:00:00+00:00/task_id=load/attempt=1.log',
  'logs/dag_id=etl/run_id=manual__2025-01-01T00:00:00.123456+00:00/task_id=t/map_index=3/attempt=2.log.trigger.17.log',
  'logs/sp ace/(paren)!*\'~/ünï/%41#?&;,$@[]^`{}|\\"<>/x.log',
  'logs/a//double-slash/./dot/../dotdot.log',
];

test('the key in the path is the SDK serialisation, and objects land at the same keys as through send()', async () => {
  await useAwsEnv();
  const s3 = createS3Client({ forcePathStyle: true, maxAttempts: 1 });
  const bucket = `putter-keys-${Date.now()}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const sdkPaths: string[] = [];
  const probe = createS3Client({ forcePathStyle: true, maxAttempts: 1 });
  probe.middlewareStack.add(
    (next) => async (args) => {
      sdkPaths.push((args.request as { path: string }).path);
      return next(args);
    },
    { step: 'build', name: 'recordPath' },
  );
  const putter = new S3Putter(s3);
  for (const key of KEYS) {
    const body = Buffer.from(`${key}\n`);
    // Twice through the putter: the first request to a bucket goes through send(), the next ones do not.
    await putter.putObject({ Bucket: bucket, Key: `first/${key}`, Body: body, ChecksumSHA256: sha256(body) });
    await putter.putObject({ Bucket: bucket, Key: `direct/${key}`, Body: body, ChecksumSHA256: sha256(body) });
    await probe.send(new PutObjectCommand({ Bucket: bucket, Key: `sdk/${key}`, Body: body }));
    assert.equal(sdkPaths.at(-1), `/${bucket}/${encodeKey(`sdk/${key}`)}`, `the SDK's path for ${key}`);
  }
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  for (const key of KEYS) {
    for (const via of ['first', 'direct']) {
      assert.ok(keys.includes(`${via}/${key}`), `${via}/${key} is listed under its own name`);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${via}/${key}` }));
      assert.equal(await got.Body!.transformToString(), `${key}\n`);
    }
  }
  assert.equal(keys.length, KEYS.length * 3, 'no key landed anywhere else');
});

test('direct PUTs carry a signature an independent SigV4 implementation accepts, and a wrong secret is refused', async (t) => {
  // A private moto with IAM auth on after the set-up calls: it recomputes every signature with botocore.
  // (moto's check mis-handles percent-encoded paths even for the SDK, so this test keeps to plain keys;
  // the test above proves the path is the SDK's own.)
  const dir = mkdtempSync(join(tmpdir(), 'ws-moto-auth-'));
  const port = await freePort();
  const pid = await startMoto(dir, port, { INITIAL_NO_AUTH_ACTION_COUNT: '3' });
  t.after(() => {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      process.kill(pid, 'SIGTERM');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const iam = async (params: Record<string, string>) => {
    const res = await fetch(`${endpoint}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIASETUP/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: new URLSearchParams({ Version: '2010-05-08', ...params }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return res.text();
  };
  await iam({ Action: 'CreateUser', UserName: 'shipper' });
  await iam({
    Action: 'PutUserPolicy',
    UserName: 'shipper',
    PolicyName: 's3',
    PolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
    }),
  });
  const created = await iam({ Action: 'CreateAccessKey', UserName: 'shipper' });
  const accessKeyId = /<AccessKeyId>([^<]+)</.exec(created)![1]!;
  const secretAccessKey = /<SecretAccessKey>([^<]+)</.exec(created)![1]!;
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  delete process.env.AWS_SESSION_TOKEN;
  const s3 = createS3Client({ endpoint, forcePathStyle: true, maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'signed' }));
  const putter = new S3Putter(s3);
  for (let i = 0; i < 3; i++) {
    const body = Buffer.from(`line ${i}\n`);
    const out = await putter.putObject({
      Bucket: 'signed',
      Key: `logs/task_${i}/attempt_1.log`,
      Body: body,
      ChecksumSHA256: sha256(body),
      ContentType: 'text/plain; charset=utf-8',
      IfNoneMatch: '*',
      Tagging: 'team=data&env=test',
    });
    assert.equal(out.ChecksumSHA256, sha256(body));
  }
  const upload = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: 'signed', Key: 'logs/big.log', ChecksumAlgorithm: 'SHA256' }),
  );
  const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.from('tail\n')];
  const done: { PartNumber: number; ETag: string; ChecksumSHA256: string }[] = [];
  for (const [k, body] of parts.entries()) {
    const out = await putter.uploadPart({
      Bucket: 'signed',
      Key: 'logs/big.log',
      UploadId: upload.UploadId!,
      PartNumber: k + 1,
      Body: body,
      ChecksumSHA256: sha256(body),
    });
    done.push({ PartNumber: k + 1, ETag: out.ETag!, ChecksumSHA256: sha256(body) });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'signed',
      Key: 'logs/big.log',
      UploadId: upload.UploadId!,
      MultipartUpload: { Parts: done },
    }),
  );
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'signed', Key: 'logs/big.log' }));
  assert.equal(head.ContentLength, parts[0]!.length + parts[1]!.length);

  process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
  const wrong = new S3Putter(createS3Client({ endpoint, forcePathStyle: true, maxAttempts: 1 }));
  for (let i = 0; i < 2; i++) {
    const body = Buffer.from('x');
    await assert.rejects(
      wrong.putObject({ Bucket: 'signed', Key: `logs/wrong_${i}.log`, Body: body, ChecksumSHA256: sha256(body) }),
      (err: S3ServiceException) => err.name === 'SignatureDoesNotMatch' && err.$metadata.httpStatusCode === 403,
    );
  }
});

test('errors are shaped like the SDK: S3 code as name, status in $metadata, S3ServiceException', async () => {
  const stack = await testStack();
  await useAwsEnv();
  const proxy = await startFaultProxy(stack.motoUrl);
  try {
    const s3 = createS3Client({ endpoint: proxy.url, forcePathStyle: true, maxAttempts: 1 });
    const bucket = `putter-errors-${Date.now()}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const putter = new S3Putter(s3);
    const body = Buffer.from('first\n');
    const put = (over: object = {}) =>
      putter.putObject({ Bucket: bucket, Key: 'logs/k.log', Body: body, ChecksumSHA256: sha256(body), ...over });
    const first = await put({ IfNoneMatch: '*' });
    assert.ok(first.ETag);
    const conflict = (await put({ IfNoneMatch: '*' }).catch((e: unknown) => e)) as S3ServiceException;
    assert.ok(conflict instanceof S3ServiceException);
    assert.equal(conflict.name, 'PreconditionFailed');
    assert.equal(conflict.$metadata.httpStatusCode, 412);
    assert.equal(conflict.$fault, 'client');
    const stale = (await put({ IfMatch: '"0123456789abcdef0123456789abcdef"' }).catch(
      (e: unknown) => e,
    )) as S3ServiceException;
    assert.equal(stale.$metadata.httpStatusCode, 412);
    assert.equal((await put({ IfMatch: first.ETag! })).ETag, first.ETag, 'the same bytes over the matching ETag');

    proxy.setScript((_i, req) => (req.method === 'PUT' ? { kind: 'throttle' } : undefined));
    const throttled = (await put().catch((e: unknown) => e)) as S3ServiceException;
    assert.equal(throttled.name, 'SlowDown');
    assert.equal(throttled.$metadata.httpStatusCode, 503);
    assert.equal(throttled.$fault, 'server');
    proxy.setScript((_i, req) => (req.method === 'PUT' ? { kind: 'status', status: 500 } : undefined));
    const bare = (await put().catch((e: unknown) => e)) as S3ServiceException;
    assert.equal(bare.$metadata.httpStatusCode, 500);
    proxy.setScript((_i, req) => (req.method === 'PUT' ? { kind: 'reset' } : undefined));
    const reset = (await put().catch((e: unknown) => e)) as NodeJS.ErrnoException;
    assert.match(`${reset.code} ${reset.message}`, /ECONNRESET|socket hang up/);
    proxy.setScript(() => undefined);

    const sent = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('logs/k.log'));
    for (const r of sent) {
      // One SHA-256 of the body, used twice: the integrity checksum and the signed payload hash.
      const hex = Buffer.from(String(r.headers['x-amz-checksum-sha256']), 'base64').toString('hex');
      assert.equal(r.headers['x-amz-content-sha256'], hex);
      assert.equal(hex, createHash('sha256').update(r.body).digest('hex'));
    }
  } finally {
    await proxy.close();
  }
});
