import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { privateRedis } from '../../../../test/helpers/stack.ts';
import {
  airflowTaskCommand,
  boundQueues,
  buildAirflowCeleryMessage,
  EXECUTE_COMMAND_TASK,
  type ExecuteTaskWorkload,
  KOMBU_SEP,
  PyTuple,
  parseCeleryMessage,
  pushCeleryMessage,
  pythonJsonDumps,
  queueKeyForPriority,
  queueLengths,
  queueListKeys,
  saferepr,
  unackedMessages,
} from '../../src/index.ts';
import { celeryPython, NO_CELERY, runPython } from './python-celery.ts';

const workload: ExecuteTaskWorkload = {
  token: 'eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiIwMTk2In0.c2lnbmF0dXJl',
  dag_rel_path: 'etl/daily_sales.py',
  bundle_info: { name: 'dags-folder', version: null },
  log_path: 'dag_id=daily_sales/run_id=scheduled__2026-03-01T00:00:00+00:00/task_id=load/attempt=2.log',
  ti: {
    id: '0196f0a2-5b1c-7c3e-9f00-1a2b3c4d5e6f',
    dag_version_id: '0196f0a2-0000-7000-8000-000000000001',
    task_id: 'load',
    dag_id: 'daily_sales',
    run_id: 'scheduled__2026-03-01T00:00:00+00:00',
    try_number: 2,
    map_index: 4,
    pool_slots: 1,
    queue: 'etl',
    priority_weight: 3,
    parent_context_carrier: {},
    context_carrier: {},
  },
  type: 'ExecuteTask',
};

describe('kombu key layout', () => {
  test('priority 0-2 is the bare queue, 3/6/9 steps get <queue>\\x06\\x16<step>', () => {
    assert.equal(queueKeyForPriority('etl', 0), 'etl');
    assert.equal(queueKeyForPriority('etl', 2), 'etl');
    assert.equal(queueKeyForPriority('etl', 3), 'etl\x06\x163');
    assert.equal(queueKeyForPriority('etl', 8), 'etl\x06\x166');
    assert.equal(queueKeyForPriority('etl', 9), 'etl\x06\x169');
    assert.deepEqual(queueListKeys('etl', 'pfx:'), [
      'pfx:etl',
      'pfx:etl\x06\x163',
      'pfx:etl\x06\x166',
      'pfx:etl\x06\x169',
    ]);
  });

  test('Python json.dumps spelling: spaced separators, non-ASCII escaped', () => {
    assert.equal(
      pythonJsonDumps({ a: [1, null, true], é: 'ü\n"' }),
      '{"a": [1, null, true], "\\u00e9": "\\u00fc\\n\\""}',
    );
  });
});

describe('queue lengths and unacked messages in a real Redis', () => {
  let server: Awaited<ReturnType<typeof privateRedis>>;
  let redis: Redis;
  before(async () => {
    server = await privateRedis();
    redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  test('a queue length sums all four priority lists, honours global_keyprefix, and is 0 for an empty queue', async () => {
    const plan: Record<string, number[]> = { default: [5, 0, 2, 1], etl: [0, 3, 0, 0], ml: [0, 0, 0, 0] };
    for (const [queue, perStep] of Object.entries(plan)) {
      const keys = queueListKeys(queue, 'airflow:');
      for (const [i, n] of perStep.entries()) for (let k = 0; k < n; k++) await redis.lpush(keys[i]!, `m${k}`);
    }
    await redis.lpush('default', 'not prefixed, not counted');
    await redis.set(`airflow:reports`, 'a string where a list should be');
    const lengths = await queueLengths(redis, ['default', 'etl', 'ml', 'reports'], { globalKeyprefix: 'airflow:' });
    assert.deepEqual(Object.fromEntries(lengths), { default: 8, etl: 3, ml: 0, reports: 0 });
    const unprefixed = await queueLengths(redis, ['default']);
    assert.equal(unprefixed.get('default'), 1);
  });

  test('messages built here land in their priority list and are counted', async () => {
    const command = airflowTaskCommand({ dagId: 'd', taskId: 't', runId: 'r', subdir: 'DAGS_FOLDER/d.py' });
    await pushCeleryMessage(redis, buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'prio' }));
    await pushCeleryMessage(
      redis,
      buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'prio', priority: 7 }),
    );
    assert.equal(await redis.llen('prio'), 1);
    assert.equal(await redis.llen(`prio${KOMBU_SEP}6`), 1);
    assert.equal((await queueLengths(redis, ['prio'])).get('prio'), 2);
  });

  test('unacked entries are counted and attributed to their queue from [message, exchange, routing_key]', async () => {
    const prefix = 'u:';
    const expected = { etl: 3, default: 2 };
    let n = 0;
    for (const [queue, count] of Object.entries(expected)) {
      for (let i = 0; i < count; i++) {
        const m = buildAirflowCeleryMessage({ kind: 'execute_workload', workload, queue });
        await redis.hset(`${prefix}unacked`, m.deliveryTag, JSON.stringify([JSON.parse(m.payload), '', queue]));
        await redis.zadd(`${prefix}unacked_index`, Date.now() / 1000 + n++, m.deliveryTag);
      }
    }
    await redis.hset(`${prefix}unacked`, 'garbage-tag', 'not json');
    const unacked = await unackedMessages(redis, { globalKeyprefix: prefix });
    assert.equal(unacked.count, 6);
    assert.equal(unacked.indexCount, 5);
    assert.deepEqual(Object.fromEntries(unacked.byQueue), expected);
    assert.equal(unacked.unparsed, 1);
  });

  test('bound queues come from the _kombu.binding sets, without pidbox and event queues', async () => {
    await redis.sadd('b:_kombu.binding.etl', `etl${KOMBU_SEP}${KOMBU_SEP}etl`);
    await redis.sadd('b:_kombu.binding.default', `default${KOMBU_SEP}${KOMBU_SEP}default`);
    await redis.sadd('b:_kombu.binding.celery.pidbox', `${KOMBU_SEP}${KOMBU_SEP}celery@w1.celery.pidbox`);
    assert.deepEqual(await boundQueues(redis, { globalKeyprefix: 'b:' }), ['default', 'etl']);
  });
});

describe('Airflow Celery messages: build and parse', () => {
  test('a 2.x execute_command message parses back to its dag, task, run and map index', () => {
    const command = airflowTaskCommand({
      dagId: 'daily_sales',
      taskId: 'load',
      runId: 'scheduled__2026-03-01T00:00:00+00:00',
      mapIndex: 3,
      subdir: 'DAGS_FOLDER/etl/daily_sales.py',
      pool: 'db_pool',
    });
    const m = buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'etl' });
    const parsed = parseCeleryMessage(m.payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.taskName, EXECUTE_COMMAND_TASK);
    assert.equal(parsed.celeryTaskId, m.celeryTaskId);
    assert.equal(parsed.routingKey, 'etl');
    assert.equal(parsed.exchange, '');
    assert.equal(parsed.deliveryTag, m.deliveryTag);
    assert.deepEqual(parsed.airflow, {
      dagId: 'daily_sales',
      taskId: 'load',
      runId: 'scheduled__2026-03-01T00:00:00+00:00',
      mapIndex: 3,
      tryNumber: null,
      tiId: null,
    });
  });

  test('a 3.x execute_workload message parses back including try number and the TI uuid', () => {
    const m = buildAirflowCeleryMessage({ kind: 'execute_workload', workload, queue: 'etl' });
    const parsed = parseCeleryMessage(m.payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.taskName, 'execute_workload');
    assert.deepEqual(parsed.airflow, {
      dagId: 'daily_sales',
      taskId: 'load',
      runId: 'scheduled__2026-03-01T00:00:00+00:00',
      mapIndex: 4,
      tryNumber: 2,
      tiId: workload.ti.id,
    });
  });

  test('the short task name of newer providers is recognised too', () => {
    const command = airflowTaskCommand({ dagId: 'a', taskId: 'b', runId: 'c', subdir: 'x.py' });
    const m = buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'q', taskName: 'execute_command' });
    const parsed = parseCeleryMessage(m.payload);
    assert.ok(parsed.ok && parsed.airflow?.dagId === 'a');
  });

  test('anything else is reported as unparsed with a reason, never thrown', () => {
    const cases: [string, RegExp][] = [
      ['{not json', /not JSON/],
      ['[1,2]', /expected a JSON object/],
      [
        JSON.stringify({ body: 'gASV', 'content-type': 'application/x-python-serialize', properties: {} }),
        /content-type/,
      ],
      [
        JSON.stringify({ body: 'e30=', 'content-type': 'application/json', properties: { body_encoding: 'base64' } }),
        /no task name/,
      ],
    ];
    for (const [raw, reason] of cases) {
      const parsed = parseCeleryMessage(raw);
      assert.equal(parsed.ok, false, raw);
      assert.match((parsed as { reason: string }).reason, reason);
    }
    const foreign = buildAirflowCeleryMessage({
      kind: 'execute_command',
      command: ['echo'],
      queue: 'q',
      taskName: 'proj.add',
    });
    const parsed = parseCeleryMessage(foreign.payload);
    assert.ok(parsed.ok);
    assert.equal(parsed.airflow, null);
  });
});

// Skipped without Celery only outside CI: under CI=true the tests run and fail, saying what is missing.
describe('saferepr matches Celery’s own (celery.utils.saferepr)', {
  skip: celeryPython() || process.env.CI ? false : NO_CELERY,
}, () => {
  const long = 'x'.repeat(1500);
  const cases: [string, unknown, string][] = [
    ['a command list', [['airflow', 'tasks', 'run', "it's", 'b"c', 'back\\slash']], 'None'],
    ['a one-element tuple holding a JSON string', ['{"token":"a\'b","ti":{"try_number":2}}'], 'tuple'],
    ['a long string, truncated at 1024', [long], 'tuple'],
    ['a long list, cut with ", ..."', [Array.from({ length: 400 }, (_, i) => `arg${i}`)], 'None'],
  ];
  for (const [name, value, kind] of cases) {
    test(name, () => {
      const arg = (value as unknown[])[0];
      // the Python side gets the same value through JSON; a 'tuple' case wraps the single argument
      const pyValue = `json.loads(${JSON.stringify(JSON.stringify(kind === 'tuple' ? arg : value))})`;
      const expected = runPython(
        `import json\nfrom celery.utils.saferepr import saferepr\n` +
          `print(saferepr(${kind === 'tuple' ? `(${pyValue},)` : pyValue}, 1024), end='')`,
      );
      const ours =
        kind === 'tuple' ? saferepr(new PyTuple([arg as string]), 1024) : saferepr(value as string[][], 1024);
      assert.equal(ours, expected);
    });
  }
});
