/**
 * Real Celery/kombu (Python) against this package, both ways, on a private Redis with a
 * global_keyprefix: what Celery publishes, we count and parse (and rebuild byte for byte); what we
 * build, a real Celery worker consumes, runs and acks.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { privateRedis } from '../../../../test/helpers/stack.ts';
import {
  airflowTaskCommand,
  buildAirflowCeleryMessage,
  EXECUTE_COMMAND_TASK,
  type ExecuteTaskWorkload,
  parseCeleryMessage,
  pushCeleryMessage,
  queueLengths,
  unackedMessages,
  workloadJson,
} from '../../src/index.ts';
import { celeryPython, NO_CELERY, runPython } from './python-celery.ts';

const PREFIX = 'af:';

const workload: ExecuteTaskWorkload = {
  token: 'eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiIwMTk2In0.c2ln',
  dag_rel_path: 'sales.py',
  bundle_info: { name: 'dags-folder', version: null },
  log_path: 'dag_id=sales/run_id=manual__1/task_id=load/attempt=1.log',
  ti: {
    id: '0196f0a2-5b1c-7c3e-9f00-1a2b3c4d5e6f',
    dag_version_id: '0196f0a2-0000-7000-8000-000000000001',
    task_id: 'load',
    dag_id: 'sales',
    run_id: 'manual__1',
    try_number: 1,
    map_index: -1,
    pool_slots: 1,
    queue: 'etl',
    priority_weight: 1,
    parent_context_carrier: {},
    context_carrier: {},
  },
  type: 'ExecuteTask',
};

describe('real Celery and this package agree on the Redis layout', {
  skip: celeryPython() || process.env.CI ? false : NO_CELERY,
}, () => {
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

  test('what Celery publishes (Airflow 2.x command, 3.x workload) is counted, parsed and rebuilt byte for byte', async () => {
    const command = airflowTaskCommand({
      dagId: 'sales',
      taskId: 'load',
      runId: 'scheduled__2026-03-01T00:00:00+00:00',
      mapIndex: 2,
      subdir: 'DAGS_FOLDER/sales.py',
    });
    // Airflow's own calls: apply_async(args=[command], queue=q) and apply_async(args=(json,), queue=q)
    const out = runPython(
      `
import json, os
from celery import Celery
app = Celery('airflow', broker=os.environ['BROKER'])
app.conf.broker_transport_options = {'global_keyprefix': '${PREFIX}'}
cmd = json.loads(os.environ['COMMAND'])
ids = []
for _ in range(3):
    ids.append(app.send_task('${EXECUTE_COMMAND_TASK}', args=[cmd], queue='etl').id)
ids.append(app.send_task('execute_workload', args=(os.environ['WORKLOAD'],), queue='ml').id)
print(json.dumps({'ids': ids, 'oid': app.thread_oid}))
`,
      { BROKER: server.url, COMMAND: JSON.stringify(command), WORKLOAD: workloadJson(workload) },
    );
    const { ids } = JSON.parse(out) as { ids: string[] };
    assert.deepEqual(
      Object.fromEntries(await queueLengths(redis, ['etl', 'ml', 'default'], { globalKeyprefix: PREFIX })),
      {
        etl: 3,
        ml: 1,
        default: 0,
      },
    );

    const etl = await redis.lrange(`${PREFIX}etl`, 0, -1);
    const seen = new Set<string>();
    for (const raw of etl) {
      const parsed = parseCeleryMessage(raw);
      assert.ok(parsed.ok, raw);
      assert.equal(parsed.taskName, EXECUTE_COMMAND_TASK);
      assert.equal(parsed.routingKey, 'etl');
      assert.deepEqual(parsed.airflow, {
        dagId: 'sales',
        taskId: 'load',
        runId: 'scheduled__2026-03-01T00:00:00+00:00',
        mapIndex: 2,
        tryNumber: null,
        tiId: null,
      });
      seen.add(parsed.celeryTaskId);
      // same ids -> the very same bytes Celery wrote
      const envelope = JSON.parse(raw);
      const rebuilt = buildAirflowCeleryMessage({
        kind: 'execute_command',
        command,
        queue: 'etl',
        celeryTaskId: parsed.celeryTaskId,
        deliveryTag: envelope.properties.delivery_tag,
        replyTo: envelope.properties.reply_to,
        origin: envelope.headers.origin,
        celeryVersion: 'stamps' in envelope.headers ? '5.3' : '5.2',
      });
      assert.equal(rebuilt.payload, raw);
    }
    assert.deepEqual([...seen].sort(), ids.slice(0, 3).sort());

    const [mlRaw] = await redis.lrange(`${PREFIX}ml`, 0, -1);
    const ml = parseCeleryMessage(mlRaw!);
    assert.ok(ml.ok);
    assert.equal(ml.celeryTaskId, ids[3]);
    assert.equal(ml.airflow?.tryNumber, 1);
    assert.equal(ml.airflow?.tiId, workload.ti.id);
    const env = JSON.parse(mlRaw!);
    const rebuilt = buildAirflowCeleryMessage({
      kind: 'execute_workload',
      workload,
      queue: 'ml',
      celeryTaskId: ml.celeryTaskId,
      deliveryTag: env.properties.delivery_tag,
      replyTo: env.properties.reply_to,
      origin: env.headers.origin,
      celeryVersion: 'stamps' in env.headers ? '5.3' : '5.2',
    });
    assert.equal(rebuilt.payload, mlRaw);
  });

  test('what this package builds, a real Celery worker consumes, runs with the right arguments and acks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ws-celery-'));
    const outFile = join(dir, 'ran.jsonl');
    writeFileSync(
      join(dir, 'wsapp.py'),
      `
import json, os
from celery import Celery
app = Celery('airflow', broker=os.environ['BROKER'])
app.conf.broker_transport_options = {'global_keyprefix': '${PREFIX}'}
app.conf.worker_hijack_root_logger = False

def record(name, arg):
    with open(os.environ['OUT'], 'a') as f:
        f.write(json.dumps({'task': name, 'arg': arg}) + '\\n')

@app.task(name='${EXECUTE_COMMAND_TASK}')
def execute_command(command_to_exec):
    record('execute_command', command_to_exec)

@app.task(name='execute_workload')
def execute_workload(input):
    record('execute_workload', json.loads(input))
`,
    );
    const command = airflowTaskCommand({
      dagId: 'sales',
      taskId: 'report',
      runId: 'manual__9',
      subdir: 'DAGS_FOLDER/s.py',
    });
    await pushCeleryMessage(redis, buildAirflowCeleryMessage({ kind: 'execute_command', command, queue: 'q_in' }), {
      globalKeyprefix: PREFIX,
    });
    await pushCeleryMessage(
      redis,
      buildAirflowCeleryMessage({ kind: 'execute_workload', workload, queue: 'q_in', priority: 6 }),
      { globalKeyprefix: PREFIX },
    );
    assert.equal((await queueLengths(redis, ['q_in'], { globalKeyprefix: PREFIX })).get('q_in'), 2);

    const worker = spawn(
      celeryPython()!,
      ['-m', 'celery', '-A', 'wsapp', 'worker', '-Q', 'q_in', '--pool=solo', '-n', 'ws@localhost'].concat([
        '--without-heartbeat',
        '--without-mingle',
        '--without-gossip',
        '-l',
        'WARNING',
      ]),
      { cwd: dir, env: { ...process.env, BROKER: server.url, OUT: outFile, PYTHONPATH: dir }, stdio: 'pipe' },
    );
    let stderr = '';
    worker.stderr.on('data', (d) => {
      stderr += d;
    });
    try {
      const deadline = Date.now() + 45_000;
      const ran = () => (existsSync(outFile) ? readFileSync(outFile, 'utf8').trim().split('\n').length : 0);
      while (ran() < 2 && Date.now() < deadline) await sleep(200);
      assert.equal(ran(), 2, `the worker ran both tasks (stderr: ${stderr.slice(-2000)})`);
      const runs = readFileSync(outFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { task: string; arg: unknown });
      assert.deepEqual(runs.map((r) => r.task).sort(), ['execute_command', 'execute_workload']);
      assert.deepEqual(runs.find((r) => r.task === 'execute_command')?.arg, command);
      assert.deepEqual(runs.find((r) => r.task === 'execute_workload')?.arg, JSON.parse(workloadJson(workload)));
      // acked: nothing waiting, nothing unacked
      let unacked = await unackedMessages(redis, { globalKeyprefix: PREFIX });
      for (let i = 0; i < 25 && unacked.count > 0; i++) {
        await sleep(200);
        unacked = await unackedMessages(redis, { globalKeyprefix: PREFIX });
      }
      assert.equal(unacked.count, 0);
      assert.equal((await queueLengths(redis, ['q_in'], { globalKeyprefix: PREFIX })).get('q_in'), 0);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => {
        const t = setTimeout(() => {
          worker.kill('SIGKILL');
          resolve(undefined);
        }, 10_000);
        worker.once('exit', () => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
