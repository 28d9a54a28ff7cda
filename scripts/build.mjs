#!/usr/bin/env node
// `npm run build`: compiles the runtime sources to dist/ (tsc -p tsconfig.build.json: the same
// layout, .ts imports rewritten to .js), then makes dist/ a self-contained tree Node resolves
// without a loader: each workspace gets a package.json whose exports name its compiled files, and
// dist/node_modules/@windsock/<name> links to it, so `@windsock/core` inside dist/ is dist's copy
// while third-party packages still come from the root node_modules. Non-TypeScript files under
// src/ (worker entries, web pages) are copied. dist/sources.json lists every source file with its
// size and mtime: bin/windsock.mjs runs dist/ only while that list still matches the tree, and the
// sources through tsx otherwise (so an edit never runs stale code).
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const started = performance.now();

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write('build: tsc failed (see above); dist/ not written, windsock runs the sources through tsx\n');
  process.exit(tsc.status ?? 1);
}

const workspaces = ['packages', 'services'].flatMap((d) =>
  readdirSync(join(root, d), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, d, e.name, 'package.json')))
    .map((e) => `${d}/${e.name}`),
);

const walk = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
      )
    : [];

const toJs = (target) => (typeof target === 'string' ? target.replace(/\.ts$/, '.js') : target);
const sources = [];
for (const ws of workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
  const exports = Object.fromEntries(
    Object.entries(pkg.exports ?? { '.': './src/index.ts' }).map(([k, v]) => [k, toJs(v)]),
  );
  mkdirSync(join(dist, ws), { recursive: true });
  writeFileSync(
    join(dist, ws, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module', exports }, null, 2)}\n`,
  );
  const link = join(dist, 'node_modules', pkg.name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), join(dist, ws)), link, 'dir');
  for (const file of walk(join(root, ws, 'src'))) {
    sources.push(file);
    if (file.endsWith('.ts') || file.endsWith('.orig')) continue;
    const out = join(dist, relative(root, file));
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(file, out);
  }
}
sources.push(join(root, 'bin/windsock.ts'), join(root, 'package.json'));
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// bin/windsock.ts imports ../package.json (version, description).
writeFileSync(
  join(dist, 'package.json'),
  `${JSON.stringify({ name: rootPkg.name, version: rootPkg.version, description: rootPkg.description, private: true, type: 'module' }, null, 2)}\n`,
);
// The simulator's demo runs `windsock` from dist/bin as it does from bin/.
mkdirSync(join(dist, 'bin'), { recursive: true });
copyFileSync(join(root, 'bin/windsock.mjs'), join(dist, 'bin/windsock.mjs'));

const stamp = (f) => {
  const s = statSync(f);
  return [relative(root, f), s.size, Math.trunc(s.mtimeMs)];
};
const dirs = [...new Set(sources.map((f) => dirname(f)))];
writeFileSync(
  join(dist, 'sources.json'),
  JSON.stringify({
    files: sources.map(stamp),
    dirs: dirs.map((d) => [relative(root, d), Math.trunc(statSync(d).mtimeMs)]),
  }),
);
process.stdout.write(
  `build: ${sources.length} sources of ${workspaces.length} workspaces -> dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
