/**
 * The Docker part of the test stack: a private Docker engine (dockerd with its own data root,
 * exec root and socket, no iptables, no bridge) and a tiny image built from Debian's static busybox,
 * since this machine reaches no image registry. Containers run with `--network none`.
 *
 * Like the rest of the stack it is idempotent: a running engine recorded in `docker.json` is reused;
 * `stopDocker()` stops only the engine that file records.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, sleep } from './process.ts';

/** The image every Docker test runs: busybox (sh, echo, sleep, yes, dd, ...), nothing else. */
export const TEST_IMAGE = 'windsock-test/busybox:1';

/** How tests reach the private Docker engine. */
export interface DockerInfo {
  /** The engine's unix socket (dockerode `socketPath`, or `DOCKER_HOST=unix://<it>`). */
  socketPath: string;
  version: string;
  image: string;
  pid: number;
}

function docker(socketPath: string, args: string[], input?: Buffer): { status: number | null; stdout: string } {
  const r = spawnSync('docker', ['-H', `unix://${socketPath}`, ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: (r.stdout ?? '').trim() };
}

/** The Debian packages the Docker engine needs that are not installed yet. */
export function missingDockerPackages(): string[] {
  const missing: string[] = [];
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!has('dockerd') || !has('containerd') || !has('runc')) missing.push('docker.io');
  if (!existsSync('/bin/busybox') && !existsSync('/usr/bin/busybox')) missing.push('busybox-static');
  return missing;
}

function readDockerState(stateFile: string): DockerInfo | null {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as DockerInfo;
  } catch {
    return null;
  }
}

/** Whether the engine recorded in `stateFile` runs and answers. */
export function dockerReachable(stateFile: string): DockerInfo | null {
  const s = readDockerState(stateFile);
  if (!s || !alive(s.pid)) return null;
  return docker(s.socketPath, ['version', '--format', '{{.Server.Version}}']).status === 0 ? s : null;
}

/**
 * Start (or reuse) a private dockerd under `dir` and make sure the test image exists.
 * Needs root (dockerd does); the packages must be installed already.
 */
export async function startDocker(dir: string, namespace: string): Promise<DockerInfo> {
  const stateFile = join(dir, 'docker.json');
  const root = join(dir, 'docker');
  const running = dockerReachable(stateFile);
  if (running) {
    ensureTestImage(running.socketPath, root);
    return running;
  }
  if (process.getuid?.() !== 0) {
    throw new Error('the Docker tests need a private dockerd, which needs root: run the tests as root');
  }
  mkdirSync(root, { recursive: true });
  const socketPath = join(root, 'docker.sock');
  const pidfile = join(root, 'dockerd.pid');
  // A dockerd killed hard leaves its pidfile behind, and a new one refuses to start over it.
  rmSync(pidfile, { force: true });
  rmSync(socketPath, { force: true });
  const child = spawn(
    'dockerd',
    [
      '--iptables=false',
      '--ip-masq=false',
      '--bridge=none',
      '--data-root',
      join(root, 'data'),
      '--exec-root',
      join(root, 'exec'),
      '--pidfile',
      pidfile,
      '--host',
      `unix://${socketPath}`,
      '--containerd-namespace',
      namespace,
      '--containerd-plugins-namespace',
      `${namespace}-plugins`,
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  child.unref();
  const deadline = Date.now() + 60_000;
  let version = '';
  while (Date.now() < deadline) {
    const r = docker(socketPath, ['version', '--format', '{{.Server.Version}}']);
    if (r.status === 0 && r.stdout) {
      version = r.stdout;
      break;
    }
    if (!alive(child.pid)) throw new Error(`dockerd exited at start-up; see its log with: dockerd --debug ...`);
    await sleep(200);
  }
  if (!version) throw new Error('dockerd did not answer within 60 s');
  ensureTestImage(socketPath, root);
  const info: DockerInfo = { socketPath, version, image: TEST_IMAGE, pid: child.pid ?? 0 };
  writeFileSync(stateFile, JSON.stringify(info, null, 2));
  return info;
}

/** Build {@link TEST_IMAGE} from the static busybox when the engine does not have it. */
function ensureTestImage(socketPath: string, root: string): void {
  if (docker(socketPath, ['image', 'inspect', TEST_IMAGE]).status === 0) return;
  const rootfs = join(root, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  const busybox = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
  execFileSync('cp', [busybox, join(rootfs, 'bin', 'busybox')]);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
  const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
  const r = docker(socketPath, ['import', '-', TEST_IMAGE], tar);
  if (r.status !== 0) throw new Error(`could not import ${TEST_IMAGE} into the test Docker engine`);
}

/** Stop the engine `dir` records (its containers go with it) and forget it. */
export async function stopDocker(dir: string): Promise<void> {
  const stateFile = join(dir, 'docker.json');
  const s = readDockerState(stateFile);
  if (!s) return;
  if (alive(s.pid)) {
    // Containers first, so the engine's shutdown does not wait on their stop timeouts.
    const ids = docker(s.socketPath, ['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) docker(s.socketPath, ['rm', '-f', ...ids]);
    process.kill(s.pid, 'SIGTERM');
    for (let i = 0; i < 150 && alive(s.pid); i++) await sleep(100);
    if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
  }
  rmSync(stateFile, { force: true });
}
