import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { recordingTailer, sleep, tempDir } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./support/append-writer.mjs', import.meta.url));

function line(i: number): string {
  return `[2024-05-01T10:00:00.000+0000] {writer.py:1} INFO - seq=${i} payload=${'p'.repeat(i % 97)}`;
}

/** Lines the writer writes after the tailer's last poll before each rotation (see append-writer.mjs). */
const TAIL_LINES = 100;

/**
 * Run the writer while polling the tailer every few ms; resolve once the writer exits and the
 * tailer caught up. Before each rotation the writer waits until the tailer has polled (an IPC
 * handshake), so the test does not depend on how fast either process runs on a loaded machine.
 */
async function writeWhileTailing(tailer: { poll(): boolean; drainToEnd(): void }, args: string[]): Promise<void> {
  const child = spawn(process.execPath, [WRITER, ...args, String(TAIL_LINES)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let done = false;
  child.on('message', (m: { ready?: number }) => {
    if (m.ready === undefined) return;
    tailer.poll();
    child.send({ go: m.ready });
  });
  const exited = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`)))),
  );
  void exited.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  while (!done) {
    tailer.poll();
    await sleep(3);
  }
  await exited;
  // The orphaned files are drained on later polls; a few more passes settle everything.
  for (let i = 0; i < 5; i++) {
    tailer.poll();
    await sleep(5);
  }
  tailer.drainToEnd();
}

function seqs(lines: { text: string }[]): number[] {
  return lines.map((l) => Number(/seq=(\d+)/.exec(l.text)?.[1]));
}

function assertExactlyOnce(got: number[], expected: Iterable<number>): void {
  const want = [...expected].sort((a, b) => a - b);
  const sorted = [...got].sort((a, b) => a - b);
  const dupes = sorted.filter((v, i) => i > 0 && sorted[i - 1] === v);
  assert.deepEqual(dupes.slice(0, 10), [], 'no line is delivered twice');
  assert.equal(sorted.length, want.length, 'every line is delivered');
  assert.deepEqual(sorted, want);
}

describe('FileTailer on real files', () => {
  const { dir: root, cleanup } = tempDir();
  after(cleanup);
  let n = 0;
  const fresh = () => {
    const d = join(root, `case${++n}`);
    mkdirSync(d);
    return d;
  };

  it('follows rename rotation under continuous writing, draining the renamed file (exact name input)', async () => {
    const d = fresh();
    const file = join(d, 'scheduler.log');
    writeFileSync(file, '');
    const { tailer, lines } = recordingTailer({ inputs: [{ path: file }], idleFinishMs: 20 });
    await writeWhileTailing(tailer, [file, '12000', '15', 'rename', '1500']);
    assertExactlyOnce(
      seqs(lines),
      Array.from({ length: 12000 }, (_, i) => i + 1),
    );
    assert.equal(tailer.stats().rotations, 7, 'each of the 7 renames is seen as a rotation');
  });

  it('follows rename rotation when the glob also matches the rotated names (identity, not name)', async () => {
    const d = fresh();
    const file = join(d, 'worker.log');
    writeFileSync(file, '');
    const { tailer, lines } = recordingTailer({ inputs: [{ path: `${d}/worker.log*` }] });
    await writeWhileTailing(tailer, [file, '12000', '15', 'rename', '1500']);
    assertExactlyOnce(
      seqs(lines),
      Array.from({ length: 12000 }, (_, i) => i + 1),
    );
    assert.equal(readdirSync(d).length, 8, 'seven rotated files plus the live one');
  });

  it('follows copytruncate under continuous writing without loss or double count when copies match the glob', async () => {
    const d = fresh();
    const file = join(d, 'celery.log');
    writeFileSync(file, '');
    const { tailer, lines } = recordingTailer({ inputs: [{ path: `${d}/celery.log*` }] });
    await writeWhileTailing(tailer, [file, '12000', '15', 'copytruncate', '1500']);
    assertExactlyOnce(
      seqs(lines),
      Array.from({ length: 12000 }, (_, i) => i + 1),
    );
    assert.equal(tailer.stats().truncations, 7, 'each of the 7 truncations is seen');
  });

  it('copytruncate with only the live name configured: never double counts, keeps order', async () => {
    const d = fresh();
    const file = join(d, 'celery.log');
    writeFileSync(file, '');
    const { tailer, lines } = recordingTailer({ inputs: [{ path: file }] });
    await writeWhileTailing(tailer, [file, '6000', '15', 'copytruncate', '1000']);
    const got = seqs(lines);
    assert.equal(new Set(got).size, got.length, 'no duplicates');
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
      'in order',
    );
    // Lines written between the last poll and a truncation are only in the copy (documented): at
    // most the TAIL_LINES before each of the 5 truncations may be missing; every other line is there.
    const mayMiss = (i: number) => (i - 1) % 1000 >= 1000 - TAIL_LINES && i < 6000;
    const missing = Array.from({ length: 6000 }, (_, i) => i + 1).filter((i) => !got.includes(i));
    assert.deepEqual(
      missing.filter((i) => !mayMiss(i)),
      [],
      'only lines written after the last poll before a truncation are missing',
    );
  });

  it('reads a file truncated in place from its start again', () => {
    const d = fresh();
    const file = join(d, 'task.log');
    writeFileSync(file, `${line(1)}\n${line(2)}\n${line(3)}\n`);
    const { tailer, lines } = recordingTailer({ inputs: [{ path: file }] });
    tailer.poll();
    truncateSync(file, 0);
    tailer.poll();
    appendFileSync(file, `${line(4)}\n${line(5)}\n`);
    tailer.poll();
    assert.deepEqual(seqs(lines), [1, 2, 3, 4, 5]);
    assert.equal(tailer.stats().truncations, 1);
  });

  it('notices a file truncated and rewritten past the old offset between two polls', () => {
    const d = fresh();
    const file = join(d, 'task.log');
    writeFileSync(file, `${line(1)}\n`);
    const { tailer, lines } = recordingTailer({ inputs: [{ path: file }] });
    tailer.poll();
    writeFileSync(file, `${line(2)}\n${line(3)}\n${line(4)}\n`); // O_TRUNC then a longer content
    tailer.poll();
    assert.deepEqual(seqs(lines), [1, 2, 3, 4]);
  });

  it('handles deletion and re-creation, and a glob whose matches appear later', async () => {
    const d = fresh();
    const { tailer, lines } = recordingTailer({ inputs: [{ path: `${d}/dag_id=*/run_id=*/task_id=*/attempt=*.log` }] });
    tailer.poll();
    assert.equal(lines.length, 0);
    const t1 = join(d, 'dag_id=etl/run_id=r1/task_id=load');
    mkdirSync(t1, { recursive: true });
    writeFileSync(join(t1, 'attempt=1.log'), `${line(1)}\n${line(2)}\n`);
    tailer.poll();
    unlinkSync(join(t1, 'attempt=1.log'));
    await sleep(2);
    writeFileSync(join(t1, 'attempt=1.log'), `${line(3)}\n`);
    writeFileSync(join(t1, 'attempt=2.log.partial'), `${line(99)}\n`); // not matched
    tailer.poll();
    tailer.drainToEnd();
    assert.deepEqual(seqs(lines).sort(), [1, 2, 3]);
  });

  it('delivers CRLF lines without the CR and holds a partial last line until it is complete', () => {
    const d = fresh();
    const file = join(d, 'win.log');
    writeFileSync(file, 'one\r\ntwo\r\nthr');
    const { tailer, lines } = recordingTailer({ inputs: [{ path: file }] });
    tailer.poll();
    assert.deepEqual(
      lines.map((l) => l.text),
      ['one', 'two'],
    );
    appendFileSync(file, 'ee\r\n');
    tailer.poll();
    assert.deepEqual(
      lines.map((l) => l.text),
      ['one', 'two', 'three'],
    );
  });

  it('starts at the end, the beginning, or the checkpoint for files present at start-up', () => {
    const d = fresh();
    const file = join(d, 'a.log');
    writeFileSync(file, `${line(1)}\n${line(2)}\npartial`);
    const end = recordingTailer({ inputs: [{ path: file }], startPosition: 'end' });
    end.tailer.poll();
    assert.equal(end.lines.length, 0);
    assert.equal(end.tailer.checkpoints()[0]!.offset, readFileSync(file).indexOf('partial'));
    appendFileSync(file, `\n${line(3)}\n`);
    end.tailer.poll();
    assert.deepEqual(
      end.lines.map((l) => l.text),
      ['partial', line(3)],
    );
    const cps = end.tailer.checkpoints();
    appendFileSync(file, `${line(4)}\n`);
    const resumed = recordingTailer({ inputs: [{ path: file }], startPosition: 'checkpoint', checkpoint: cps });
    resumed.tailer.poll();
    assert.deepEqual(seqs(resumed.lines), [4]);
    const first = recordingTailer({ inputs: [{ path: file }], startPosition: 'checkpoint', checkpoint: undefined });
    first.tailer.poll();
    assert.equal(first.lines.length, 0, 'first start without a checkpoint begins at the end');
    const restartedEmpty = recordingTailer({ inputs: [{ path: file }], startPosition: 'checkpoint', checkpoint: [] });
    restartedEmpty.tailer.poll();
    assert.equal(restartedEmpty.lines.length, 5, 'a file unknown to an existing checkpoint is read from its start');
  });

  it('does not resume a checkpoint on a different file that reuses the inode number', () => {
    const d = fresh();
    const file = join(d, 'b.log');
    writeFileSync(file, `${line(1)}\n${line(2)}\n`);
    const a = recordingTailer({ inputs: [{ path: file }] });
    a.tailer.poll();
    const cp = a.tailer.checkpoints();
    // Same dev/ino (the checkpoint is edited to claim it), different first bytes.
    writeFileSync(file, `${line(7)}\n${line(8)}\n${line(9)}\n`);
    const b = recordingTailer({ inputs: [{ path: file }], startPosition: 'checkpoint', checkpoint: cp });
    b.tailer.poll();
    assert.deepEqual(seqs(b.lines), [7, 8, 9]);
  });

  it('follows 10,000 files in one glob and picks up an append to any of them', () => {
    const d = fresh();
    for (let dag = 0; dag < 100; dag++) {
      for (let task = 0; task < 100; task++) {
        const p = join(d, `dag_id=d${dag}`, 'run_id=r1', `task_id=t${task}`);
        mkdirSync(p, { recursive: true });
        writeFileSync(join(p, 'attempt=1.log'), `${line(dag * 100 + task + 1)}\n`);
      }
    }
    const { tailer, lines } = recordingTailer({
      inputs: [{ path: `${d}/dag_id=*/run_id=*/task_id=*/attempt=*.log` }],
      rescanIntervalMs: 60_000,
      // One poll here reads every file (a daemon's poll stops after pollBudgetMs to serve SIGTERM and HTTP).
      pollBudgetMs: Number.POSITIVE_INFINITY,
    });
    const t0 = performance.now();
    tailer.poll();
    const firstMs = performance.now() - t0;
    assertExactlyOnce(
      seqs(lines),
      Array.from({ length: 10000 }, (_, i) => i + 1),
    );
    appendFileSync(join(d, 'dag_id=d42', 'run_id=r1', 'task_id=t7', 'attempt=1.log'), `${line(10001)}\n`);
    const t1 = performance.now();
    tailer.poll();
    const pollMs = performance.now() - t1;
    assert.equal(lines.length, 10001);
    assert.equal(lines.at(-1)!.path.endsWith('dag_id=d42/run_id=r1/task_id=t7/attempt=1.log'), true);
    assert.equal(tailer.stats().trackedFiles, 10000);
    const t2 = performance.now();
    tailer.poll(Date.now(), true);
    const rescanMs = performance.now() - t2;
    assert.equal(lines.length, 10001, 'a rescan finds nothing new and re-reads nothing');
    console.log(
      `# 10,000 files: first poll ${firstMs.toFixed(0)} ms, poll ${pollMs.toFixed(0)} ms, rescan ${rescanMs.toFixed(0)} ms`,
    );
  });
});
