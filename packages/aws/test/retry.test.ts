import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { backoffMs, classifyAwsFailure, isRetryableAwsFailure } from '@windsock/aws';

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
const sysError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('one classifier for AWS failures (S3 and CloudWatch alike)', () => {
  it('throttling by name or by HTTP 429, from either service', () => {
    for (const e of [
      s3Error('SlowDown', 503),
      s3Error('Throttling', 400),
      s3Error('ThrottlingException', 400),
      s3Error('TooManyRequestsException', 400),
      s3Error('RequestLimitExceeded', 400),
      s3Error('LimitExceededException', 400),
      s3Error('Anything', 429),
    ]) {
      assert.equal(classifyAwsFailure(e), 'throttled', e.name);
      assert.equal(isRetryableAwsFailure(e), true, e.name);
    }
  });

  it('5xx, timeouts and transport failures are retried; other 4xx are not', () => {
    assert.equal(classifyAwsFailure(s3Error('InternalError', 500)), 'server_error');
    assert.equal(classifyAwsFailure(s3Error('RequestTimeout', 400)), 'timeout');
    assert.equal(classifyAwsFailure(Object.assign(new Error('t'), { name: 'TimeoutError' })), 'timeout');
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'EPIPE']) {
      assert.equal(classifyAwsFailure(sysError(code)), 'network_error', code);
      assert.equal(isRetryableAwsFailure(sysError(code)), true, code);
    }
    for (const [name, status] of [
      ['AccessDenied', 403],
      ['NoSuchBucket', 404],
      ['InvalidParameterValue', 400],
    ] as const) {
      assert.equal(classifyAwsFailure(s3Error(name, status)), 'client_error', name);
      assert.equal(isRetryableAwsFailure(s3Error(name, status)), false, name);
    }
  });

  it('backs off with full jitter under a cap', () => {
    assert.equal(
      backoffMs(0, 100, 5000, () => 0.999),
      99,
    );
    assert.equal(
      backoffMs(3, 100, 5000, () => 0.5),
      400,
    );
    assert.equal(
      backoffMs(10, 100, 5000, () => 0.999),
      4995,
    );
  });
});
