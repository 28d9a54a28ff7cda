// bin/windsock.mjs runs dist/ (the compiled runtime, `npm run build`) only while dist/sources.json
// still matches the sources, and the TypeScript through tsx otherwise: a tree being edited never
// runs stale code. Checked on a small copy of the layout (the real build takes minutes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'ws-launcher-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A tree with bin/ (the real launcher), one source file, and a dist/ built from it. */
function tree(): { dir: string; run: () => string; source: string } {
  const dir = mkdtempSync(join(tmp, 't-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'dist', 'bin'), { recursive: true });
  copyFileSync(join(root, 'bin', 'windsock.mjs'), join(dir, 'bin', 'windsock.mjs'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'bin', 'windsock.ts'), "const from: string = 'source';\nconsole.log(from);\n");
  writeFileSync(join(dir, 'dist', 'bin', 'windsock.js'), "console.log('compiled');\n");
  const source = join(dir, 'src', 'a.ts');
  writeFileSync(source, 'export const a = 1;\n');
  const s = statSync(source);
  writeFileSync(
    join(dir, 'dist', 'sources.json'),
    JSON.stringify({
      files: [['src/a.ts', s.size, Math.trunc(s.mtimeMs)]],
      dirs: [['src', Math.trunc(statSync(join(dir, 'src')).mtimeMs)]],
    }),
  );
  const run = () => {
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'windsock.mjs')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  return { dir, run, source };
}

describe('the windsock launcher', () => {
  it('runs the compiled code while dist/ matches the sources', () => {
    assert.equal(tree().run(), 'compiled');
  });

  it('runs the sources through tsx once a source changes, a file is added, or dist/ is missing', () => {
    const edited = tree();
    writeFileSync(edited.source, 'export const a = 22;\n');
    assert.equal(edited.run(), 'source');

    const touched = tree();
    const later = new Date(Date.now() + 5000);
    utimesSync(touched.source, later, later);
    assert.equal(touched.run(), 'source', 'same size, newer mtime');

    const added = tree();
    writeFileSync(join(added.dir, 'src', 'b.ts'), 'export const b = 1;\n');
    assert.equal(added.run(), 'source');

    const unbuilt = tree();
    rmSync(join(unbuilt.dir, 'dist'), { recursive: true });
    assert.equal(unbuilt.run(), 'source');
  });
});
