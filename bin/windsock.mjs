#!/usr/bin/env node
// The `windsock` launcher. Runs the compiled JavaScript in dist/ (`npm run build`, run by `npm install`
// through the root `prepare` script) while dist/ matches the sources it was built from (every source
// file's size and mtime, and its folders' mtimes, listed in dist/sources.json: a few hundred stat
// calls, ~2 ms); otherwise, in a tree being edited or never built, the TypeScript sources through
// tsx, so an edit never runs stale code.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

const here = new URL('.', import.meta.url);

/** dist/bin/windsock.js when this launcher is dist's own copy or dist/ is up to date, else undefined. */
function compiledEntry() {
  const beside = new URL('./windsock.js', here);
  if (existsSync(beside)) return beside; // this is dist/bin/windsock.mjs
  const root = new URL('../', here);
  const list = new URL('dist/sources.json', root);
  let sources;
  try {
    sources = JSON.parse(readFileSync(list, 'utf8'));
  } catch {
    return undefined;
  }
  try {
    for (const [path, size, mtime] of sources.files) {
      const s = statSync(new URL(path, root));
      if (s.size !== size || Math.trunc(s.mtimeMs) !== mtime) return undefined;
    }
    // A folder's mtime changes when a file is added to it or removed.
    for (const [path, mtime] of sources.dirs) {
      if (Math.trunc(statSync(new URL(path, root)).mtimeMs) !== mtime) return undefined;
    }
  } catch {
    return undefined;
  }
  return new URL('dist/bin/windsock.js', root);
}

// Windsock runs as sidecars, where resident memory counts for more than the last percent of
// throughput: V8's young generation stays at its starting size (2 MiB semi-spaces) instead of
// growing to 16 MiB ones, which all of a busy process's allocation soon touches (`log-metrics
// --once` on the bench corpus: ~105 MB peak RSS instead of 135-165 MB, same speed). A
// --max-semi-space-size given to node is left to decide.
const semiSpace = () => {
  if (!`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`.includes('--max-semi-space-size')) {
    setFlagsFromString('--semi-space-growth-factor=1');
  }
};

const compiled = compiledEntry();
if (compiled) {
  semiSpace();
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // Set after register(): starting a worker thread (tsx's loader runs in one) re-applies node's flags.
  semiSpace();
  await import('./windsock.ts');
}
