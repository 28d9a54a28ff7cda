/**
 * EmfSink: every line is a valid EMF document (JSON schema from the specification plus the
 * specification's reference rules), and output stays within EMF's limits.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { Registry } from 'prom-client';
import { type EmfDocument, EmfSink, type MetricDatum, Metrics } from '../src/index.ts';
import schema from './fixtures/emf-schema.json' with { type: 'json' };

const validateSchema = new Ajv({ allErrors: true }).compile(schema);

/** Problems with one EMF line: the schema's, then the reference rules the schema cannot express. */
function emfProblems(line: string): string[] {
  const doc = JSON.parse(line) as Record<string, unknown> & EmfDocument;
  if (!validateSchema(doc)) return (validateSchema.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  const problems: string[] = [];
  for (const dir of doc._aws.CloudWatchMetrics) {
    const dimKeys = new Set(dir.Dimensions.flat());
    for (const k of dimKeys)
      if (typeof doc[k] !== 'string') problems.push(`dimension target ${k} is not a string member`);
    for (const m of dir.Metrics) {
      const v = doc[m.Name];
      if (dimKeys.has(m.Name)) problems.push(`${m.Name} is both a dimension and a metric`);
      if (Array.isArray(v)) {
        if (v.length === 0 || v.length > 100) problems.push(`${m.Name} has ${v.length} values (1-100 allowed)`);
        if (!v.every((x) => typeof x === 'number')) problems.push(`${m.Name} has a non-numeric value`);
      } else if (typeof v !== 'number') problems.push(`metric target ${m.Name} is not a number`);
    }
  }
  return problems;
}

async function emit(
  datums: MetricDatum[],
  registry = new Registry(),
): Promise<{ lines: string[]; docs: EmfDocument[]; sink: EmfSink }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => {
    text += c;
  });
  const sink = new EmfSink({ stream: out, registry });
  sink.write(datums);
  await sink.flush();
  const lines = text.split('\n').filter(Boolean);
  for (const line of lines) assert.deepEqual(emfProblems(line), [], line.slice(0, 300));
  return { lines, docs: lines.map((l) => JSON.parse(l) as EmfDocument), sink };
}

const t0 = 1_764_000_000_000;
function datum(
  name: string,
  kind: MetricDatum['kind'],
  value: number,
  dimensions: Record<string, string> = {},
  ts = t0,
): MetricDatum {
  return { namespace: 'Windsock', name, unit: 'Count', kind, dimensions, value, timestamp: ts };
}

describe('EmfSink', () => {
  test('the validator is not vacuous: it rejects documents that break the specification', () => {
    const good = {
      _aws: {
        Timestamp: t0,
        CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['Q']], Metrics: [{ Name: 'M', Unit: 'Count' }] }],
      },
      Q: 'a',
      M: 1,
    };
    assert.deepEqual(emfProblems(JSON.stringify(good)), []);
    const tooMany = structuredClone(good);
    tooMany._aws.CloudWatchMetrics[0]!.Metrics = Array.from({ length: 101 }, (_, i) => ({
      Name: `M${i}`,
      Unit: 'Count',
    }));
    assert.notDeepEqual(emfProblems(JSON.stringify(tooMany)), []);
    assert.notDeepEqual(emfProblems(JSON.stringify({ ...good, Q: 1 })), [], 'a dimension target must be a string');
    assert.notDeepEqual(emfProblems(JSON.stringify({ ...good, M: Array(101).fill(1) })), [], 'at most 100 values');
    const badUnit = structuredClone(good);
    badUnit._aws.CloudWatchMetrics[0]!.Metrics[0]!.Unit = 'Minutes';
    assert.notDeepEqual(emfProblems(JSON.stringify(badUnit)), []);
  });

  test('one document per dimension set: counters summed, gauges last, distributions as value arrays', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c) => {
      text += c;
    });
    const sink = new EmfSink({ stream: out });
    let now = t0;
    const metrics = new Metrics({ namespace: 'Windsock', sinks: [sink], now: () => now++ });
    metrics.counter('TasksFailed', { Queue: 'default' }).add(2);
    metrics.counter('TasksFailed', { Queue: 'default' }).add(3);
    metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(9);
    metrics.gauge('QueueDepth', { Queue: 'default' }, 'Count').set(4);
    metrics.counter('TasksFailed', { Queue: 'gpu' }).add(1);
    for (const v of [0.2, 0.2, 0.7]) metrics.observe('PollDuration', {}, 'Seconds', v);
    await metrics.flush();
    const lines = text.split('\n').filter(Boolean);
    for (const line of lines) assert.deepEqual(emfProblems(line), []);
    const docs = lines.map((l) => JSON.parse(l) as EmfDocument);
    assert.equal(docs.length, 3, 'three dimension sets: {Queue=default}, {Queue=gpu}, {}');
    const def = docs.find((d) => d.Queue === 'default')!;
    assert.equal(def.TasksFailed, 5);
    assert.equal(def.QueueDepth, 4);
    assert.deepEqual(def._aws.CloudWatchMetrics[0]!.Dimensions, [['Queue']]);
    assert.equal(def._aws.Timestamp, t0 + 3, 'the latest datum time');
    const poll = docs.find((d) => d.PollDuration !== undefined)!;
    assert.deepEqual([...(poll.PollDuration as number[])].sort(), [0.2, 0.2, 0.7]);
    assert.deepEqual(poll._aws.CloudWatchMetrics[0]!.Dimensions, [[]]);
    assert.deepEqual(poll._aws.CloudWatchMetrics[0]!.Metrics, [{ Name: 'PollDuration', Unit: 'Seconds' }]);
  });

  test('250 metrics in one dimension set become 3 directives of at most 100', async () => {
    const datums = Array.from({ length: 250 }, (_, i) => datum(`Metric${i}`, 'gauge', i, { Queue: 'q' }));
    const { docs } = await emit(datums);
    assert.deepEqual(
      docs.map((d) => d._aws.CloudWatchMetrics[0]!.Metrics.length),
      [100, 100, 50],
    );
    const names = docs.flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name));
    assert.equal(new Set(names).size, 250);
    for (let i = 0; i < 250; i++) assert.equal(docs.find((d) => d[`Metric${i}`] !== undefined)![`Metric${i}`], i);
  });

  test('250 observations of one distribution become arrays of 100, 100 and 50 values', async () => {
    const datums = Array.from({ length: 250 }, (_, i) => datum('Lag', 'distribution', i % 10));
    const { docs } = await emit(datums);
    assert.deepEqual(
      docs.map((d) => (d.Lag as number[]).length),
      [100, 100, 50],
    );
    const all = docs.flatMap((d) => d.Lag as number[]);
    assert.equal(
      all.reduce((a, b) => a + b, 0),
      datums.reduce((a, d) => a + (d.value as number), 0),
    );
  });

  test('30 dimensions fit in one set; namespaces get separate documents', async () => {
    const dims: Record<string, string> = {};
    for (let i = 0; i < 30; i++) dims[`D${String(i).padStart(2, '0')}`] = `v${i}`;
    const { docs } = await emit([
      datum('Wide', 'counter', 1, dims),
      { ...datum('Other', 'counter', 1, dims), namespace: 'Elsewhere' },
    ]);
    assert.equal(docs.length, 2);
    assert.equal(docs[0]!._aws.CloudWatchMetrics[0]!.Dimensions[0]!.length, 30);
    assert.deepEqual(docs.map((d) => d._aws.CloudWatchMetrics[0]!.Namespace).sort(), ['Elsewhere', 'Windsock']);
  });

  test('statistic sets and names that collide with a dimension are dropped and counted', async () => {
    const registry = new Registry();
    const { docs } = await emit(
      [
        {
          ...datum('Stats', 'distribution', 0),
          value: undefined,
          statistics: { sampleCount: 2, sum: 3, min: 1, max: 2 },
        },
        datum('Queue', 'counter', 1, { Queue: 'q' }),
        datum('Fine', 'counter', 1, { Queue: 'q' }),
      ],
      registry,
    );
    assert.equal(docs.length, 1);
    assert.equal(docs[0]!.Fine, 1);
    const dropped = await registry.getSingleMetric('windsock_metrics_dropped_total')!.get();
    assert.deepEqual(dropped.values.map((v) => [v.labels.reason, v.value]).sort(), [
      ['conflict', 1],
      ['unsupported', 1],
    ]);
  });

  test('writes to a file path, appending, and close() flushes and closes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws-emf-'));
    try {
      const path = join(dir, 'metrics.log');
      const sink = new EmfSink({ path });
      sink.write([datum('A', 'counter', 1)]);
      await sink.flush();
      sink.write([datum('B', 'counter', 2)]);
      await sink.close();
      const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, 2);
      for (const line of lines) assert.deepEqual(emfProblems(line), []);
      assert.deepEqual(
        lines.map((l) => Object.keys(JSON.parse(l)).filter((k) => k !== '_aws')),
        [['A'], ['B']],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
