/**
 * The scaler's test cluster: a real metadb (Airflow 2.10 DDL), a private Redis broker, real Celery
 * worker containers (Debian python3-celery from the host's /usr, `--network host`) made from a
 * template container, a worker-agent inside each, and a driver that plays the Airflow scheduler:
 * it inserts queued task_instance rows, publishes the matching Celery messages (kombu layout), and
 * follows the workers' own start/finish records to move each row to running (with the worker's
 * hostname) and success, as Airflow's task runner would. Nothing here decides about scaling.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { airflowTaskCommand, buildAirflowCeleryMessage, loadAirflowSchema, pushCeleryMessage } from '@windsock/airflow';
import { createDockerClient, type DockerClient } from '@windsock/docker';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDatabase, privateRedis, testStack } from '../../../../test/helpers/stack.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const TOKEN = `scaler-test-${randomBytes(12).toString('hex')}`;

/** One task's life from the workers' own records. */
export interface TaskRecord {
  key: string;
  worker?: string;
  start?: number;
  finish?: number;
}

/** A unix-socket proxy in front of the Docker engine that can be told to fail (an engine error). */
export class DockerProxy {
  readonly path: string;
  private failing = false;
  /** Mutating engine calls (create, start, remove, stop, kill) that went through. */
  readonly calls: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    dir: string,
    name: string,
    private readonly target: string,
  ) {
    this.path = join(dir, `${name}.sock`);
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      if (this.failing) {
        client.end(
          'HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 36\r\nconnection: close\r\n\r\n{"message":"injected engine error"}\n',
        );
        return;
      }
      const upstream = connect(this.target);
      client.once('data', (first) => {
        const line = first.toString('latin1').split('\r\n')[0] ?? '';
        if (/^(POST|DELETE) /.test(line) && /\/containers\//.test(line)) this.calls.push(line);
        upstream.write(first);
        client.pipe(upstream);
      });
      upstream.pipe(client);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  }

  /** Fail every request from now on (open keep-alive connections are cut), or pass again. */
  fail(on: boolean): void {
    this.failing = on;
    if (on) for (const s of this.sockets) s.destroy();
  }

  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(this.path, () => r()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A coordinator process (`windsock scaler`) whose decision lines the test reads. */
export class CoordinatorProcess {
  child?: ChildProcess;
  readonly lines: Array<Record<string, unknown>> = [];
  stderrTail = '';

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  start(): void {
    const child = spawn(process.execPath, [join(REPO, 'bin', 'windsock.mjs'), 'scaler'], {
      cwd: REPO,
      env: { ...process.env, ...this.env, WINDSOCK_HTTP__PORT: String(this.port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    let buf = '';
    child.stderr?.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000);
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push({ ...(JSON.parse(line) as Record<string, unknown>), process: this.name, seen: Date.now() });
        } catch {
          // not a log line
        }
        i = buf.indexOf('\n');
      }
    });
  }

  kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return Promise.resolve();
    return new Promise((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  }

  decisions(): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.msg === 'scaling decision');
  }

  url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}

/** The cluster of one test. */
export class TestCluster {
  docker!: DockerClient;
  dir!: string;
  dbUrl!: string;
  brokerUrl!: string;
  template!: string;
  socketPath!: string;
  private db!: pg.Client;
  private redis!: Redis;
  private dropDb!: () => Promise<void>;
  private stopRedis!: () => Promise<void>;
  private followed = 0;
  private follower?: NodeJS.Timeout;
  private runInserted = false;
  readonly tasks = new Map<string, TaskRecord>();
  /** Workers whose tasks the driver marked failed (a crash: Airflow's zombie detection). */
  readonly crashed = new Set<string>();

  async start(opts: { coordinatorUrls: string[]; concurrency: number }): Promise<void> {
    const stack = await testStack();
    this.socketPath = stack.docker.socketPath;
    this.docker = createDockerClient({ host: `unix://${stack.docker.socketPath}` });
    const db = await createDatabase('scaler');
    this.dbUrl = db.url;
    this.dropDb = db.drop;
    this.db = new pg.Client({ connectionString: db.url });
    await this.db.connect();
    await loadAirflowSchema(this.db, '2.10');
    const r = await privateRedis();
    this.brokerUrl = r.url;
    this.stopRedis = r.stop;
    this.redis = new Redis(r.url, { maxRetriesPerRequest: 1 });
    this.dir = mkdtempSync(join(tmpdir(), 'ws-scaler-'));
    mkdirSync(join(this.dir, 'logs'));
    mkdirSync(join(this.dir, 'tmp'), { mode: 0o777 });
    chmodSync(this.dir, 0o777);
    copyFileSync(join(REPO, 'services', 'scaler', 'test', 'fixtures', 'wsworker.py'), join(this.dir, 'wsworker.py'));
    const node = process.execPath.startsWith('/usr/') ? process.execPath : '/usr/bin/node';
    // Warm the shared tsx cache once, so each container's agent starts without compiling.
    spawnSync(node, [join(REPO, 'bin', 'windsock.mjs'), 'worker-agent', '--help'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', TMPDIR: join(this.dir, 'tmp') },
      stdio: 'ignore',
    });
    spawnSync('chmod', ['-R', 'a+rwX', join(this.dir, 'tmp')]);
    const script = [
      '/bin/ln -s /usr/lib /lib 2>/dev/null; /bin/ln -s /usr/lib64 /lib64 2>/dev/null',
      `cd ${this.dir}`,
      'ID=$WINDSOCK_WORKER_AGENT__WORKER_ID',
      'export WINDSOCK_WORKER_AGENT__CELERY_HOSTNAME=celery@$ID WINDSOCK_WORKER_AGENT__TASK_HOSTNAME=$ID',
      `/usr/bin/python3 -m celery -A wsworker worker -Q default -c ${opts.concurrency} -n celery@$ID --pidfile /tmp/celery.pid --without-heartbeat --without-mingle --without-gossip -l INFO > logs/$ID.celery.log 2>&1 &`,
      'W=$!',
      `${node} ${REPO}/bin/windsock.mjs worker-agent > logs/$ID.agent.log 2>&1 &`,
      'wait $W',
    ].join('\n');
    this.template = `ws-scaler-tpl-${randomBytes(4).toString('hex')}`;
    await this.docker.createContainer({
      name: this.template,
      Image: stack.docker.image,
      Cmd: ['/bin/sh', '-c', script],
      Env: [
        'PATH=/usr/bin:/bin',
        'HOME=/tmp',
        // one tsx compile cache for every worker-agent of the test (each container's /tmp is empty)
        `TMPDIR=${this.dir}/tmp`,
        `BROKER=${this.brokerUrl}`,
        `OUT=${this.dir}`,
        `PYTHONPATH=${this.dir}`,
        `WINDSOCK_AIRFLOW__BROKER_URL=${this.brokerUrl}`,
        `WINDSOCK_AIRFLOW__DATABASE_URL=${this.dbUrl}`,
        `WINDSOCK_WORKER_AGENT__COORDINATOR_URLS=${JSON.stringify(opts.coordinatorUrls)}`,
        'WINDSOCK_WORKER_AGENT__POLL_SECONDS=1',
        'WINDSOCK_WORKER_AGENT__CELERY_PID_FILE=/tmp/celery.pid',
        `WINDSOCK_HTTP__TOKEN=${TOKEN}`,
        'WINDSOCK_HTTP__ENABLED=false',
        'WINDSOCK_LOG_LEVEL=debug',
      ],
      Labels: { 'com.docker.compose.service': 'airflow-worker' },
      HostConfig: {
        NetworkMode: 'host',
        Binds: ['/usr:/usr:ro', `${this.dir}:${this.dir}`, `${REPO}:${REPO}:ro`],
      },
    });
    this.follower = setInterval(() => void this.follow().catch(() => undefined), 200);
  }

  /** Publish a task like the scheduler: a queued row, then its Celery message. */
  async submit(taskId: string, seconds: number): Promise<string> {
    const dagId = 'chaos';
    const runId = 'manual__1';
    if (!this.runInserted) {
      await this.db.query(
        "INSERT INTO dag_run (dag_id, run_id, execution_date, run_type, state, clear_number) VALUES ($1, $2, now(), 'manual', 'running', 0)",
        [dagId, runId],
      );
      this.runInserted = true;
    }
    const task = `${taskId}-d${seconds}`;
    await this.db.query(
      "INSERT INTO task_instance (dag_id, task_id, run_id, map_index, state, try_number, pool, pool_slots, queue, queued_dttm, hostname) VALUES ($1, $2, $3, -1, 'queued', 1, 'default_pool', 1, 'default', now(), '')",
      [dagId, task, runId],
    );
    const msg = buildAirflowCeleryMessage({
      kind: 'execute_command',
      command: airflowTaskCommand({ dagId, taskId: task, runId, subdir: 'DAGS_FOLDER/chaos.py' }),
      queue: 'default',
    });
    await pushCeleryMessage(this.redis, msg);
    const key = `${dagId}/${task}/${runId}`;
    this.tasks.set(key, { key });
    return key;
  }

  /** Follow the workers' records into the metadb (running with hostname, then success). */
  async follow(): Promise<void> {
    const file = join(this.dir, 'records.jsonl');
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    const lines = text.slice(this.followed).split('\n');
    const complete = lines.slice(0, -1);
    this.followed += complete.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    for (const l of complete) {
      const r = JSON.parse(l) as {
        event: string;
        dag_id: string;
        task_id: string;
        run_id: string;
        worker: string;
        t: number;
      };
      const key = `${r.dag_id}/${r.task_id}/${r.run_id}`;
      const t = this.tasks.get(key) ?? { key };
      if (r.event === 'start') {
        t.start = r.t;
        t.worker = r.worker;
        await this.db.query(
          "UPDATE task_instance SET state = 'running', hostname = $4, start_date = now() WHERE dag_id = $1 AND task_id = $2 AND run_id = $3",
          [r.dag_id, r.task_id, r.run_id, r.worker],
        );
      } else {
        t.finish = r.t;
        await this.db.query(
          "UPDATE task_instance SET state = 'success', end_date = now() WHERE dag_id = $1 AND task_id = $2 AND run_id = $3",
          [r.dag_id, r.task_id, r.run_id],
        );
      }
      this.tasks.set(key, t);
    }
  }

  /** A worker died: its running rows become failed, as Airflow's zombie detection would do. */
  async markCrashed(worker: string): Promise<void> {
    this.crashed.add(worker);
    await this.db.query("UPDATE task_instance SET state = 'failed' WHERE hostname = $1 AND state = 'running'", [
      worker,
    ]);
  }

  /** Live worker containers of the pool (created or running). */
  async live(pool: string): Promise<Array<{ id: string; name: string; state: string }>> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`io.windsock.worker-pool=${pool}`] },
    });
    return list.map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), state: c.State }));
  }

  /** Tasks started and not finished, by worker. */
  unfinished(): TaskRecord[] {
    return [...this.tasks.values()].filter((t) => t.start !== undefined && t.finish === undefined);
  }

  async stop(): Promise<void> {
    if (this.follower) clearInterval(this.follower);
    if (this.docker) {
      const all = await this.docker.listContainers({ all: true }).catch(() => []);
      for (const c of all) {
        const name = (c.Names?.[0] ?? '').replace(/^\//, '');
        if (this.template && name.startsWith(this.template)) {
          await this.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => undefined);
        }
      }
    }
    this.redis?.disconnect();
    await this.db?.end().catch(() => undefined);
    await this.dropDb?.().catch(() => undefined);
    await this.stopRedis?.();
    if (this.dir && !process.env.WINDSOCK_TEST_KEEP_SCALER) rmSync(this.dir, { recursive: true, force: true });
  }
}
