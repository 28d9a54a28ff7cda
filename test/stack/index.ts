/**
 * The test stack: real PostgreSQL, Redis and moto (AWS) on private loopback ports.
 *
 * `up()` installs what is missing (Debian packages, as root), starts private instances, and
 * records them in a state file so a second run reuses what already runs. `down()` stops only what
 * the same state file says this checkout started. Nothing listens beyond 127.0.0.1.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DockerInfo, missingDockerPackages, startDocker, stopDocker } from './docker.ts';
import { alive, sleep } from './process.ts';

export type { DockerInfo } from './docker.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STACK_DIR = join('/tmp', `windsock-stack-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 10)}`);
const STATE_FILE = join(STACK_DIR, 'state.json');

/** What a test needs to reach the stack. */
export interface StackInfo {
  pgUrl: string;
  pgPort: number;
  redisUrl: string;
  redisPort: number;
  motoUrl: string;
  motoPort: number;
  versions: { postgres: string; redis: string; moto: string; promtool: string; docker: string };
  /** The private Docker engine (socket, image to run). */
  docker: DockerInfo;
  /** Paths of the server binaries, so tests can start extra private instances. */
  bin: { pgBin: string; redisServer: string; promtool: string };
  dir: string;
}

interface State extends StackInfo {
  pids: { postgres?: number; redis?: number; moto?: number };
}

const log = (msg: string) => process.stderr.write(`stack: ${msg}\n`);

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

function aptInstall(pkgs: string[]): void {
  if (pkgs.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${pkgs.join(', ')}: install them (sudo apt-get install -y ${pkgs.join(' ')}) or run as root`,
    );
  }
  log(`installing ${pkgs.join(' ')} with apt-get (one time)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another apt-get (a parallel run, a person) may hold dpkg's lock: wait for it, up to 5 minutes.
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  execFileSync('apt-get', [...lock, 'update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
}

/**
 * Install the Debian packages the tests need, if missing, and check moto (unless `moto: false`: a
 * running moto server was found, and importing moto takes seconds).
 */
export function ensurePackages(opts: { moto?: boolean } = {}): void {
  const missing: string[] = [];
  if (!pgBinDir()) missing.push('postgresql');
  if (!which('redis-server')) missing.push('redis-server');
  if (!which('promtool')) missing.push('prometheus');
  // container-stats' page test drives the old headless shell through playwright-core.
  if (!which('chromium-headless-shell')) missing.push('chromium-headless-shell');
  // Real Celery/kombu (Debian's Python) for the broker interop tests.
  const celery = () => spawnSync('/usr/bin/python3', ['-c', 'import celery, kombu, redis'], { encoding: 'utf8' });
  if (celery().status !== 0) missing.push('python3-celery', 'python3-redis');
  // The heartbeat probes' clients (dags/windsock_probes.py), as Airflow's images have them.
  const probeClients = () => spawnSync('/usr/bin/python3', ['-c', 'import psycopg2, boto3'], { encoding: 'utf8' });
  if (probeClients().status !== 0) missing.push('python3-psycopg2', 'python3-boto3');
  missing.push(...missingDockerPackages());
  aptInstall(missing);
  const stillNoCelery = celery();
  if (stillNoCelery.status !== 0) {
    const why = stillNoCelery.stderr.trim().split('\n').pop();
    throw new Error(
      `/usr/bin/python3 cannot import celery, kombu and redis (${why}), needed by packages/airflow/test/broker: apt-get install -y python3-celery python3-redis (see test/stack/README.md)`,
    );
  }
  if (opts.moto === false) return;
  const moto = spawnSync('python3', ['-c', 'import moto.server'], { encoding: 'utf8' });
  if (moto.status !== 0) {
    throw new Error(
      "moto (the AWS emulator) is missing from python3 and cannot be installed from Debian: pip install 'moto[server]' (see test/stack/README.md)",
    );
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Run a command as the unprivileged `postgres` user when we are root (postgres refuses root). */
function asPg(cmd: string, args: string[]): { cmd: string; args: string[] } {
  if (process.getuid?.() === 0) return { cmd: 'runuser', args: ['-u', 'postgres', '--', cmd, ...args] };
  return { cmd, args };
}

function pgIsReady(pgBin: string, port: number): boolean {
  return spawnSync(join(pgBin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).status === 0;
}

/** Start a private PostgreSQL cluster in `dir` on `port`; returns its postmaster pid. */
export async function startPostgres(dir: string, port: number): Promise<number> {
  const pgBin = pgBinDir();
  if (!pgBin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) {
    execFileSync('chown', ['-R', 'postgres:postgres', dir]);
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    const { cmd, args } = asPg(join(pgBin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
    execFileSync(cmd, args, { stdio: 'ignore' });
  }
  const opts = `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB`;
  const { cmd, args } = asPg(join(pgBin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'server.log'),
    '-o',
    opts,
    '-w',
    'start',
  ]);
  execFileSync(cmd, args, { stdio: 'ignore' });
  await waitFor('PostgreSQL', () => pgIsReady(pgBin, port));
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return pid;
}

/** Stop a private PostgreSQL cluster started by {@link startPostgres}. */
export function stopPostgres(dir: string, mode: 'fast' | 'immediate' = 'fast'): void {
  const pgBin = pgBinDir();
  if (!pgBin) return;
  const { cmd, args } = asPg(join(pgBin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', mode, '-w', 'stop']);
  spawnSync(cmd, args, { stdio: 'ignore' });
}

/** Start a private redis-server on `port`; returns its pid. */
export async function startRedis(dir: string, port: number): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const pidfile = join(dir, `redis-${port}.pid`);
  execFileSync('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'yes',
    '--pidfile',
    pidfile,
    '--dir',
    dir,
    '--logfile',
    join(dir, `redis-${port}.log`),
  ]);
  await waitFor(
    'Redis',
    () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG',
  );
  return Number(readFileSync(pidfile, 'utf8').trim());
}

/** Start moto's server on `port`; returns its pid. */
export async function startMoto(dir: string, port: number, env: Record<string, string> = {}): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  child.unref();
  await waitFor('moto', async () => (await fetch(`http://127.0.0.1:${port}/moto-api/`)).ok, 60_000);
  return child.pid ?? 0;
}

function readState(): State | null {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as State;
  } catch {
    return null;
  }
}

async function reachable(s: State): Promise<boolean> {
  if (!alive(s.pids.postgres) || !alive(s.pids.redis) || !alive(s.pids.moto)) return false;
  if (!pgIsReady(s.bin.pgBin, s.pgPort)) return false;
  try {
    return (await fetch(`${s.motoUrl}/moto-api/`)).ok;
  } catch {
    return false;
  }
}

function versions(pgBin: string): Omit<StackInfo['versions'], 'docker'> {
  const out = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout.trim();
  return {
    postgres: out(join(pgBin, 'postgres'), ['--version']).replace(/^postgres \(PostgreSQL\) /, ''),
    redis: /v=(\S+)/.exec(out('redis-server', ['--version']))?.[1] ?? 'unknown',
    moto: out('python3', ['-c', 'import moto; print(moto.__version__)']),
    promtool: /version (\S+)/.exec(out('promtool', ['--version']) || '')?.[1] ?? 'unknown',
  };
}

/** containerd namespace of this checkout's engine (two checkouts' engines must not share one). */
function dockerNamespace(): string {
  return `windsock-${STACK_DIR.slice(-10)}`;
}

/**
 * Make sure the stack runs; returns how to reach it and whether this call started it.
 * Idempotent: a running stack recorded in the state file is reused.
 */
export async function up(): Promise<{ info: StackInfo; started: boolean }> {
  const existing = readState();
  if (existing && (await reachable(existing))) {
    // The packages are checked on every run, a reused stack too: a package removed (or never
    // installed: Celery is used by tests, not by the stack) is installed again or named.
    ensurePackages({ moto: false });
    // startDocker reuses a running engine; a stack from before the engine joined it gets one.
    const docker = await startDocker(STACK_DIR, dockerNamespace());
    if (existing.docker?.pid === docker.pid) return { info: existing, started: false };
    const updated: State = { ...existing, docker, versions: { ...existing.versions, docker: docker.version } };
    writeFileSync(STATE_FILE, JSON.stringify(updated, null, 2));
    return { info: updated, started: false };
  }
  if (existing) await down();
  ensurePackages();
  mkdirSync(STACK_DIR, { recursive: true });
  chmodSync(STACK_DIR, 0o755);
  const pgBin = pgBinDir() as string;
  const [pgPort, redisPort, motoPort] = [await freePort(), await freePort(), await freePort()];
  const pgDir = join(STACK_DIR, 'pg');
  rmSync(pgDir, { recursive: true, force: true });
  const docker = await startDocker(STACK_DIR, dockerNamespace());
  const state: State = {
    pgPort,
    redisPort,
    motoPort,
    pgUrl: `postgresql://postgres@127.0.0.1:${pgPort}/postgres`,
    redisUrl: `redis://127.0.0.1:${redisPort}/0`,
    motoUrl: `http://127.0.0.1:${motoPort}`,
    versions: { ...versions(pgBin), docker: docker.version },
    docker,
    bin: { pgBin, redisServer: which('redis-server') ?? 'redis-server', promtool: which('promtool') ?? 'promtool' },
    dir: STACK_DIR,
    pids: {},
  };
  state.pids.postgres = await startPostgres(pgDir, pgPort);
  state.pids.redis = await startRedis(join(STACK_DIR, 'redis'), redisPort);
  state.pids.moto = await startMoto(join(STACK_DIR, 'moto'), motoPort);
  writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
  return { info: state, started: true };
}

/** Stop everything the state file records, and forget it. */
export async function down(): Promise<void> {
  const s = readState();
  if (!s) return;
  stopPostgres(join(STACK_DIR, 'pg'));
  await stopDocker(STACK_DIR);
  for (const pid of [s.pids.redis, s.pids.moto]) {
    if (alive(pid)) {
      try {
        process.kill(pid as number, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  rmSync(STATE_FILE, { force: true });
}

/** The environment variables through which tests find the stack. */
export function stackEnv(info: StackInfo): Record<string, string> {
  return {
    WINDSOCK_TEST_PG_URL: info.pgUrl,
    WINDSOCK_TEST_REDIS_URL: info.redisUrl,
    WINDSOCK_TEST_MOTO_URL: info.motoUrl,
    WINDSOCK_TEST_STACK: JSON.stringify(info),
  };
}
