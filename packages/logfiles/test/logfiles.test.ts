import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Logger, silentLogger } from '@windsock/core';
import {
  AtomicFile,
  FileTailer,
  identityOf,
  PathProblems,
  sameContentStart,
  type TailCursor,
  writeFileAtomic,
} from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'logfiles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A cursor that keeps every byte it is given (what the tailer delivered, per file). */
function bytesTailer(opts: Partial<ConstructorParameters<typeof FileTailer>[0]> & { inputs: { path: string }[] }) {
  const got = new Map<string, string>();
  const tailer = new FileTailer({
    startPosition: 'beginning',
    logger: silentLogger(),
    rescanIntervalMs: 0,
    ...opts,
    openFile: (f) => (start) => {
      let position = start;
      const cursor: TailCursor = {
        get position() {
          return position;
        },
        get lineStart() {
          return position;
        },
        get committedOffset() {
          return position;
        },
        stats: { lines: 0, bytes: 0, truncatedLines: 0, droppedBytes: 0 },
        push(chunk) {
          got.set(f.path, (got.get(f.path) ?? '') + chunk.toString());
          position += chunk.length;
        },
        finish() {},
        flushPartial() {},
        dropPartial() {},
      };
      return cursor;
    },
  });
  return { tailer, got };
}

function identity(path: string) {
  const st = statSync(path);
  const fd = openSync(path, 'r');
  try {
    return identityOf(fd, st.dev, st.ino, st.size);
  } finally {
    closeSync(fd);
  }
}

describe('identity: the content of the first KiB, dev/inode a hint', () => {
  it('a copy has another inode and the same identity content; a rewrite does not', () => {
    const a = join(dir, 'id-a.log');
    writeFileSync(a, 'x'.repeat(3000));
    copyFileSync(a, join(dir, 'id-b.log'));
    const ia = identity(a);
    const ib = identity(join(dir, 'id-b.log'));
    assert.notEqual(ia.ino, ib.ino);
    assert.equal(ia.fingerprint, ib.fingerprint);
    assert.equal(ia.fingerprintBytes, 1024);
    assert.match(ia.fingerprint, /^[0-9a-f]{32}$/);
    writeFileSync(a, 'y'.repeat(3000));
    const fd = openSync(a, 'r');
    assert.equal(sameContentStart(fd, ib), false);
    closeSync(fd);
  });

  it('a copytruncate while stopped: the copy resumes at the checkpoint offset, the live name from 0', () => {
    const live = join(dir, 'ct.log');
    writeFileSync(live, `${'a'.repeat(1500)}\n`);
    const first = bytesTailer({ inputs: [{ path: `${live}*` }] });
    first.tailer.poll(Date.now(), true);
    appendFileSync(live, 'more\n');
    first.tailer.poll(Date.now(), true);
    const cp = first.tailer.checkpoints();
    first.tailer.close();
    assert.equal(cp[0]!.offset, 1506);
    appendFileSync(live, 'unread\n'); // written before the rotation, never read by the first life
    copyFileSync(live, `${live}.1`);
    truncateSync(live, 0);
    appendFileSync(live, 'new\n');
    const second = bytesTailer({ inputs: [{ path: `${live}*` }], startPosition: 'checkpoint', checkpoint: cp });
    second.tailer.poll(Date.now(), true);
    assert.equal(second.got.get(`${live}.1`), 'unread\n');
    assert.equal(second.got.get(live), 'new\n');
  });
});

describe('AtomicFile', () => {
  it('prepare + commit replaces the file; abandon leaves it; a deleted directory is created again', () => {
    const d = join(dir, 'state');
    const f = new AtomicFile(join(d, 'cp.json'));
    f.write('one');
    assert.equal(readFileSync(join(d, 'cp.json'), 'utf8'), 'one');
    f.prepare('two');
    f.abandon();
    assert.equal(readFileSync(join(d, 'cp.json'), 'utf8'), 'one');
    rmSync(d, { recursive: true });
    writeFileAtomic(join(d, 'cp.json'), ['th', Buffer.from('ree')]);
    assert.equal(readFileSync(join(d, 'cp.json'), 'utf8'), 'three');
    assert.equal(statSync(join(d, 'cp.json')).mode & 0o777, 0o600);
  });

  it('a file where the directory should be: prepare throws, nothing is left behind', () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, '');
    assert.throws(() => new AtomicFile(join(blocker, 'cp.json')).prepare('x'), /ENOTDIR|EEXIST/);
  });
});

describe('PathProblems', () => {
  it('warns once per path and problem, again only after a recovery', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown) => warnings.push(o), info: () => undefined } as unknown as Logger;
    const p = new PathProblems(logger);
    for (let i = 0; i < 24; i++) p.report('/x/loop.log', Object.assign(new Error('loop'), { code: 'ELOOP' }));
    assert.equal(warnings.length, 1);
    assert.deepEqual(p.active(), { '/x/loop.log': 'ELOOP' });
    p.ok('/x/loop.log');
    p.report('/x/loop.log', Object.assign(new Error('loop'), { code: 'ELOOP' }));
    assert.equal(warnings.length, 2);
  });
});
