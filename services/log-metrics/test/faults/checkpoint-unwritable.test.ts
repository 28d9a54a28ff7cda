/**
 * Issue 18 item 3: a checkpoint that cannot be written never blocks the sinks. The state directory
 * deleted under the running service is created again; made read-only (a real read-only bind mount:
 * tests run as root, which a chmod does not stop) or replaced by a file, every flush still
 * publishes, the outage is said once (a warning; the checkpoint_failing gauge), and the checkpoint
 * is retried and written again once the directory is usable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { appendErrors, emfTotals, startDaemon, started, until } from './daemon.ts';

const OUTAGE =
  'cannot write the checkpoint: counts are still published; the checkpoint is retried at every flush (after a crash meanwhile, lines since the last written checkpoint would be counted again)';

/** Make `dir` read-only for root too: a read-only bind mount of itself (chattr +i where mounts are not allowed). */
function readOnly(dir: string): () => void {
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'ignore' });
    return () => execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
    } catch {}
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    return () => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
  }
}

describe('a checkpoint that cannot be written', { timeout: 300_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-cp-');
  const undo: (() => void)[] = [];
  after(() => {
    for (const u of undo.splice(0)) u();
    cleanup();
  });

  it('state dir deleted while running: recreated, publishing goes on, exit 0', async () => {
    const d0 = join(dir, 'deleted');
    mkdirSync(d0);
    const app = join(d0, 'app.log');
    writeFileSync(app, '');
    const state = join(d0, 'state');
    const daemon = startDaemon({ dir: d0, inputs: [app], stateDir: state });
    assert.ok(await started(daemon), daemon.log);
    rmSync(state, { recursive: true, force: true });
    appendErrors(app, 1, 50);
    assert.ok(await until(() => (emfTotals(join(d0, 'emf.log')).LogErrors ?? 0) >= 50, daemon), daemon.log);
    assert.ok(await until(() => existsSync(join(state, 'log-metrics.checkpoint.json')), daemon), daemon.log);
    assert.equal(await daemon.term(), 0, daemon.log);
    assert.equal(emfTotals(join(d0, 'emf.log')).LogErrors, 50);
  });

  it('state dir read-only: every ERROR still reaches the sinks, the outage is said once, the checkpoint resumes', async () => {
    const d1 = join(dir, 'readonly');
    mkdirSync(d1);
    const app = join(d1, 'app.log');
    const emf = join(d1, 'emf.log');
    writeFileSync(app, '');
    const state = join(d1, 'state');
    const daemon = startDaemon({ dir: d1, inputs: [app], stateDir: state });
    assert.ok(await started(daemon), daemon.log);
    const undoRo = readOnly(state);
    undo.push(undoRo);
    appendErrors(app, 1, 50);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 50, daemon), daemon.log);
    // More flushes during the outage: still one warning.
    const flushes = daemon.records('flush: publishing').length;
    assert.ok(await until(() => daemon.records('flush: publishing').length >= flushes + 3, daemon), daemon.log);
    assert.equal(daemon.records(OUTAGE).length, 1, daemon.log);
    undo.pop()!();
    assert.ok(await until(() => daemon.records('checkpoint written again').length === 1, daemon), daemon.log);
    assert.equal(await daemon.term(), 0, daemon.log);
    assert.equal(emfTotals(emf).LogErrors, 50);
    // The checkpoint written after the outage covers the 50: a restart counts nothing again.
    const again = startDaemon({ dir: d1, inputs: [app], stateDir: state });
    assert.ok(await started(again), again.log);
    appendErrors(app, 51, 5);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 55, again), again.log);
    assert.equal(await again.term(), 0, again.log);
    assert.equal(emfTotals(emf).LogErrors, 55);
  });

  it('a file where the state dir should be: publishing goes on, one warning, SIGTERM exits 0', async () => {
    const d2 = join(dir, 'file');
    mkdirSync(d2);
    const app = join(d2, 'app.log');
    const emf = join(d2, 'emf.log');
    writeFileSync(app, '');
    const state = join(d2, 'state');
    const daemon = startDaemon({ dir: d2, inputs: [app], stateDir: state });
    assert.ok(await started(daemon), daemon.log);
    rmSync(state, { recursive: true, force: true });
    writeFileSync(state, 'not a directory');
    appendErrors(app, 1, 50);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 50, daemon), daemon.log);
    assert.equal(await daemon.term(), 0, daemon.log);
    assert.equal(emfTotals(emf).LogErrors, 50);
    assert.equal(daemon.records(OUTAGE).length, 1, daemon.log);
    assert.doesNotMatch(daemon.log, /please report/);
  });
});
