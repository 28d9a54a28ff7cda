#!/usr/bin/env node
// The one test command (`npm test`): start the real test stack, lint, typecheck, run every test
// file with node's test runner, stop what this run started, and end with "N passed, N failed".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const { up, down, stackEnv } = await import('../test/stack/index.ts');

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const step = (name, cmd, cmdArgs) => {
  process.stdout.write(`\n== ${name}\n`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  return r.status === 0;
};

let files = [];
for (const top of ['packages', 'services']) {
  if (!existsSync(top)) continue;
  for (const pkg of readdirSync(top)) findTests(join(top, pkg, 'test'), files);
}
findTests('test', files);
files.sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

const { info, started } = await up();
process.stdout.write(
  `== test stack: PostgreSQL ${info.versions.postgres} (127.0.0.1:${info.pgPort}), Redis ${info.versions.redis} (127.0.0.1:${info.redisPort}), moto ${info.versions.moto} (127.0.0.1:${info.motoPort}), promtool ${info.versions.promtool}, Docker ${info.versions.docker} (${info.docker.socketPath})${started ? '' : ' [reused]'}\n`,
);

let staticOk = true;
if (!only.length) {
  staticOk = step('lint + format check (biome)', 'npx', ['biome', 'check', '.']) && staticOk;
  staticOk = step('typecheck (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']) && staticOk;
}

process.stdout.write(`\n== node --test (${files.length} files)\n`);
const tapFile = join(info.dir, `results-${process.pid}.tap`);
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=600000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, ...stackEnv(info) } },
);
const code = await new Promise((res) => child.on('exit', (c, sig) => res(c ?? (sig ? 1 : 0))));

if (started && !process.env.WINDSOCK_KEEP_STACK) await down();

const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
let failed = count('fail') + count('cancelled');
if (!staticOk) failed += 1;
if (code !== 0 && failed === 0) failed = 1;
if (!staticOk) process.stdout.write('lint/format or typecheck failed (counted as 1 failure)\n');
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && code === 0 ? 0 : 1);
