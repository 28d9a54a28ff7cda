/**
 * Issue 18 item 4: one bad path is a warning for that path, once, and the rest keeps working: a
 * symlink loop matched by the glob (at start-up and appearing while running), a directory the
 * service cannot enter (EACCES: the service runs as uid 65534 here, since root enters any
 * directory), a path through a file (ENOTDIR). SIGTERM then exits 0 with its final flush.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { appendErrors, emfTotals, startDaemon, started, until } from './daemon.ts';

const WARNING =
  'cannot read this log path; skipping it (other paths are read; it is retried quietly and reported again only after it has recovered)';

describe('bad paths among the inputs', { timeout: 300_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-paths-');
  after(() => {
    chmodSync(join(dir, 'logs', 'locked'), 0o755);
    cleanup();
  });

  it('warns once per bad path and counts the good files exactly', async () => {
    chmodSync(dir, 0o777);
    const logs = join(dir, 'logs');
    mkdirSync(join(logs, 'a'), { recursive: true });
    mkdirSync(join(logs, 'locked'));
    writeFileSync(join(logs, 'locked', 'x.log'), 'x\n');
    chmodSync(join(logs, 'locked'), 0o000);
    symlinkSync('loop.log', join(logs, 'a', 'loop.log'));
    const good = join(logs, 'a', 'good.log');
    writeFileSync(good, '');
    writeFileSync(join(logs, 'plain'), '');
    const state = join(dir, 'state');
    mkdirSync(state);
    chmodSync(state, 0o777);
    chmodSync(logs, 0o777);
    chmodSync(join(logs, 'a'), 0o777);
    chmodSync(good, 0o666);
    const emf = join(dir, 'emf.log');
    const d = startDaemon({
      dir,
      inputs: [join(logs, '*', '*.log'), join(logs, 'plain', 'through-a-file.log')],
      stateDir: state,
      uid: 65534,
    });
    assert.ok(await started(d), d.log);
    appendErrors(good, 1, 20);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 20, d), d.log);
    // A loop appears while running.
    symlinkSync('loop2.log', join(logs, 'a', 'loop2.log'));
    appendErrors(good, 21, 10);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 30, d), d.log);
    // Many polls and rescans (50 ms / 200 ms) go by: the warnings stay one per path.
    const flushes = d.records('flush: publishing').length;
    assert.ok(await until(() => d.records('flush: publishing').length >= flushes + 6, d), d.log);
    assert.equal(await d.term(), 0, d.log);
    const warned = d.records(WARNING).map((r) => `${r.path} ${r.code}`);
    assert.deepEqual(
      warned.sort(),
      [
        `${join(logs, 'a', 'loop.log')} ELOOP`,
        `${join(logs, 'a', 'loop2.log')} ELOOP`,
        `${join(logs, 'locked')} EACCES`,
        `${join(logs, 'plain', 'through-a-file.log')} ENOTDIR`,
      ].sort(),
      d.log,
    );
    assert.doesNotMatch(d.log, /please report|polling log files failed/);
    assert.equal(emfTotals(emf).LogErrors, 30);
    const stopping = d.log.indexOf('signal received: stopping');
    assert.ok(d.log.lastIndexOf('"msg":"flush: checkpointed"') > stopping, 'final flush checkpointed');
  });
});
