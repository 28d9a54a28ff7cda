/**
 * Issue 18 item 6: `log-metrics --once` on wrong input gives one clear line on stderr and exit 1
 * (never `{"metrics":[]}` with exit 0, never a hang, never "unexpected error ... please report it");
 * the daemon keeps tail -F semantics and says once that it waits for a missing file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { appendErrors, CLI, emfTotals, startDaemon, started, until } from './daemon.ts';

function once(
  args: string[],
  opts: { uid?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [CLI, 'log-metrics', '--once', ...args];
  const env = { ...process.env, WINDSOCK_CLUSTER: 'faults', WINDSOCK_HTTP__ENABLED: 'false' };
  const proc =
    opts.uid === undefined
      ? spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('setpriv', [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, ...argv], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // A FIFO used to hang --once for ever: the test's own timeout would catch that.
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('log-metrics --once on wrong input', { timeout: 240_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-once-');
  after(() => {
    chmodSync(join(dir, 'secret.log'), 0o600);
    cleanup();
  });
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'ok.log'), '[2024-05-01T10:00:00.000+0000] {a.py:1} ERROR - boom\n');
  mkdirSync(join(dir, 'adir'));
  writeFileSync(join(dir, 'secret.log'), 'x\n');
  chmodSync(join(dir, 'secret.log'), 0o000);
  symlinkSync('loop.log', join(dir, 'loop.log'));
  const fifo = join(dir, 'pipe.log');
  const mkfifo = spawn('mkfifo', [fifo]);
  const made = new Promise((r) => mkfifo.on('exit', r));

  const cases: [string, string[], RegExp, { uid?: number }?][] = [
    ['a missing file', [join(dir, 'missing.log')], /missing\.log: no such file \(ENOENT\)/],
    ['a directory', [join(dir, 'adir')], /adir: is a directory/],
    ['a FIFO', [fifo], /pipe\.log: is a FIFO/],
    ['a glob matching nothing', [join(dir, 'nothing-*.log')], /nothing-\*\.log: no file matches this pattern/],
    // Root reads any file: a real EACCES needs a user the mode applies to.
    [
      'an unreadable file (as uid 65534)',
      [join(dir, 'secret.log')],
      /secret\.log: permission denied \(EACCES\)/,
      { uid: 65534 },
    ],
    ['a symlink loop', [join(dir, 'loop.log')], /loop\.log: a symbolic link loop \(ELOOP\)/],
    ['a path through a file', [join(dir, 'ok.log', 'x.log')], /\(ENOTDIR\)/],
    // A regular file whose read fails (EIO from the kernel), even for root.
    ['a read error', ['/proc/self/mem'], /mem: read failed: an I\/O error \(EIO\)/],
    ['one bad input among good ones', [join(dir, 'ok.log'), join(dir, 'missing.log')], /missing\.log: no such file/],
  ];
  for (const [name, args, message, opts] of cases) {
    it(`${name}: one line on stderr, exit 1, no snapshot`, async () => {
      await made;
      const r = await once(args, opts);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '', 'nothing printed on stdout');
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
      assert.doesNotMatch(r.stderr, /unexpected error|please report/);
    });
  }

  it('a good file still gives its snapshot and exit 0', async () => {
    const r = await once([join(dir, 'ok.log')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"LogErrors"/);
  });

  it('the daemon waits for a missing file (tail -F), says so once, and counts it when it appears', async () => {
    const path = join(dir, 'later.log');
    const d = startDaemon({ dir, inputs: [path, join(dir, 'later-*.log')] });
    assert.ok(await started(d), d.log);
    // Several flushes (and many polls and rescans) go by while the file is missing.
    assert.ok(await until(() => d.records('flush: checkpointed').length >= 4, d), d.log);
    appendErrors(path, 1, 7);
    assert.ok(await until(() => (emfTotals(join(dir, 'emf.log')).LogErrors ?? 0) >= 7, d), d.log);
    assert.equal(await d.term(), 0, d.log);
    const waits = d.records('no such log file yet: waiting for it to appear');
    assert.deepEqual(waits.map((w) => w.path).sort(), [join(dir, 'later-*.log'), path].sort(), d.log);
    assert.equal(emfTotals(join(dir, 'emf.log')).LogErrors, 7);
  });
});
