/**
 * The CloudWatch sink's pure parts: request planning, error classification, backoff.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datumBytes, MAX_DATUMS_PER_REQUEST, planBatches } from '../src/cloudwatch/batch.ts';
import { backoffMs, classify } from '../src/cloudwatch/retry.ts';

test('requests carry one namespace each and keep the order of their datums', () => {
  const pending = ['A', 'B', 'A', 'A', 'B'].map((namespace, i) => {
    const datum = { MetricName: `M${i}`, Value: i };
    return { namespace, datum, bytes: datumBytes(datum, 'json') };
  });
  const batches = planBatches(pending, 'json', 2);
  assert.deepEqual(
    batches.map((b) => [b.namespace, b.items.map((i) => i.datum.MetricName)]),
    [
      ['A', ['M0', 'M2']],
      ['A', ['M3']],
      ['B', ['M1', 'M4']],
    ],
  );
  assert.equal(MAX_DATUMS_PER_REQUEST, 1000);
});

test('a datum is sized larger in the query protocol than in JSON, and unknown takes the larger', () => {
  const datum = {
    MetricName: 'Lag',
    Dimensions: [{ Name: 'Queue', Value: 'a b/c' }],
    Timestamp: new Date(0),
    Values: [1, 2],
    Counts: [3, 4],
  };
  const json = datumBytes(datum, 'json');
  const query = datumBytes(datum, 'query');
  assert.ok(query > json);
  assert.equal(datumBytes(datum, 'unknown'), query);
});

test('throttling, 5xx and transport errors are retried; other 4xx are not', () => {
  assert.equal(classify({ name: 'Throttling', $metadata: { httpStatusCode: 400 } }), 'throttled');
  assert.equal(classify({ name: 'Unknown', $metadata: { httpStatusCode: 429 } }), 'throttled');
  assert.equal(classify({ name: 'InternalServiceFault', $metadata: { httpStatusCode: 500 } }), 'server_error');
  assert.equal(classify({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } }), 'client_error');
  assert.equal(classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'network_error');
});

test('backoff is full jitter: between 0 and min(cap, base * 2^attempt)', () => {
  assert.equal(
    backoffMs(3, 100, 10_000, () => 0.999999),
    799,
  );
  assert.equal(
    backoffMs(10, 100, 10_000, () => 0.5),
    5000,
  );
  assert.equal(
    backoffMs(0, 100, 10_000, () => 0),
    0,
  );
});
