/**
 * CeleryControl (kombu's pidbox protocol in TypeScript) against a real Celery worker (Debian's
 * python3-celery, prefork pool) on a private Redis with a global_keyprefix: active/reserved show what
 * it runs, cancel_consumer/add_consumer change what it consumes, shutdown is warm (the running
 * task finishes, then the worker exits 0).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { privateRedis } from '../../../../test/helpers/stack.ts';
import { CeleryControl } from '../../src/broker/pidbox.ts';
import { airflowTaskCommand, buildAirflowCeleryMessage, pushCeleryMessage } from '../../src/index.ts';
import { celeryPython, NO_CELERY } from './python-celery.ts';

const PREFIX = 'pb:';
const HOST = 'ws-pidbox@test';

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('CeleryControl against a real Celery worker', {
  skip: celeryPython() || process.env.CI ? false : NO_CELERY,
}, () => {
  let server: Awaited<ReturnType<typeof privateRedis>>;
  let redis: Redis;
  let control: CeleryControl;
  let worker: ChildProcess;
  let dir: string;
  let stderr = '';
  let exit: Promise<number | null>;
  before(async () => {
    server = await privateRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    control = new CeleryControl(redis, { globalKeyprefix: PREFIX, timeoutMs: 3000 });
    dir = mkdtempSync(join(tmpdir(), 'ws-pidbox-'));
    writeFileSync(
      join(dir, 'pbapp.py'),
      `
import json, os, time
from celery import Celery
app = Celery('airflow', broker=os.environ['BROKER'])
app.conf.broker_transport_options = {'global_keyprefix': '${PREFIX}'}
app.conf.worker_hijack_root_logger = False
app.conf.task_acks_late = True
app.conf.worker_prefetch_multiplier = 1

@app.task(name='airflow.providers.celery.executors.celery_executor_utils.execute_command')
def execute_command(command_to_exec):
    task_id = command_to_exec[4]
    with open(os.path.join(os.environ['OUT'], task_id + '.start'), 'w') as f:
        f.write('1')
    time.sleep(float(task_id.split('-')[1]))
    with open(os.path.join(os.environ['OUT'], task_id + '.finish'), 'w') as f:
        f.write('1')
`,
    );
    worker = spawn(
      celeryPython()!,
      ['-m', 'celery', '-A', 'pbapp', 'worker', '-Q', 'qa,qb', '-c', '1', '-n', HOST].concat([
        '--without-heartbeat',
        '--without-mingle',
        '--without-gossip',
        '-l',
        'INFO',
      ]),
      { cwd: dir, env: { ...process.env, BROKER: server.url, OUT: dir, PYTHONPATH: dir }, stdio: 'pipe' },
    );
    worker.stderr?.on('data', (d) => {
      stderr += d;
    });
    exit = new Promise((resolve) => worker.once('exit', (code) => resolve(code)));
    await until('the worker to answer ping', () => control.ping(HOST, 500), 60_000).catch((err) => {
      throw new Error(`${err.message}; worker stderr: ${stderr.slice(-2000)}`);
    });
  });
  after(async () => {
    await control?.close();
    redis?.disconnect();
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await exit;
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const push = async (taskId: string, queue: string) => {
    const msg = buildAirflowCeleryMessage({
      kind: 'execute_command',
      command: airflowTaskCommand({ dagId: 'd', taskId, runId: 'r', subdir: 'DAGS_FOLDER/d.py' }),
      queue,
    });
    await pushCeleryMessage(redis, msg, { globalKeyprefix: PREFIX });
    return msg;
  };

  test('idle: nothing active or reserved; active_queues lists both queues', async () => {
    assert.deepEqual(await control.activity(HOST), { hostname: HOST, active: [], reserved: [] });
    const queues = await control.activeQueues(HOST);
    assert.deepEqual(queues?.map((q) => q.name).sort(), ['qa', 'qb']);
    assert.equal(await control.active('nobody@nowhere'), null, 'an absent worker does not answer');
  });

  test('a running task shows in active with its Celery id; cancel/add consumer change what it takes', async () => {
    const msg = await push('sleep-3', 'qa');
    const active = await until('the task to be active', async () => {
      const a = await control.active(HOST);
      return a && a.length > 0 ? a : null;
    });
    assert.equal(active.length, 1);
    assert.equal(active[0]?.id, msg.celeryTaskId);
    assert.equal(active[0]?.delivery_info?.routing_key, 'qa');

    assert.equal(await control.cancelConsumer(HOST, 'qb'), true);
    await until('qb to leave active_queues', async () => {
      const q = await control.activeQueues(HOST);
      return q && !q.some((x) => x.name === 'qb');
    });
    await push('sleep-0.1', 'qb');
    await until('the first task to finish', async () => existsSync(join(dir, 'sleep-3.finish')));
    await sleep(1500);
    assert.equal(existsSync(join(dir, 'sleep-0.1.start')), false, 'a cancelled queue is not consumed');
    assert.equal(await redis.llen(`${PREFIX}qb`), 1);
    assert.equal(await control.addConsumer(HOST, 'qb'), true);
    await until('the qb task to run after add_consumer', async () => existsSync(join(dir, 'sleep-0.1.finish')));
  });

  test('shutdown is warm: the running task finishes, then the worker exits 0', async () => {
    await push('sleep-2', 'qa');
    await until('the task to start', async () => existsSync(join(dir, 'sleep-2.start')));
    await control.shutdown(HOST);
    const code = await exit;
    assert.equal(code, 0, stderr.slice(-2000));
    assert.equal(readFileSync(join(dir, 'sleep-2.finish'), 'utf8'), '1', 'the running task finished');
  });
});
