/**
 * Issue 18 item 1: SIGTERM while catching up on 2,000 files (more than the 512 descriptors the
 * tailer keeps open) finishes within shutdownGraceSeconds with a final flush and checkpoint, and a
 * restart counts the rest: the total equals the lines written, exactly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { emfTotals, errorLine, startDaemon, started, until } from './daemon.ts';

const FILES = 2000;
const LINES = 25;

describe('SIGTERM with 2,000 files', { timeout: 300_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-term-');
  after(cleanup);

  it('exits 0 within the grace period with a final flush and checkpoint; a restart counts the rest exactly', async () => {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const inputs = [join(logs, '*.log')];
    const env = { WINDSOCK_SHUTDOWN_GRACE_SECONDS: '3' };
    const emf = join(dir, 'emf.log');
    const first = startDaemon({ dir, inputs, env });
    assert.ok(await started(first), first.log);
    // Files appearing after start-up are read from their start: a catch-up of 2,000 files.
    for (let f = 0; f < FILES; f++) {
      let text = '';
      for (let i = 0; i < LINES; i++) text += errorLine(f * LINES + i, 80);
      writeFileSync(join(logs, `task-${f}.log`), text);
    }
    const truth = FILES * LINES;
    // SIGTERM as soon as the catch-up has begun (the first file is followed).
    assert.ok(await until(() => first.log.includes('following log file'), first), first.log);
    first.proc.kill('SIGTERM');
    // Before the fix the process spun at 100% CPU for ever: bounded wait, then SIGKILL and fail.
    const exited = await until(() => first.proc.exitCode !== null, first, 60_000);
    if (!exited) first.proc.kill('SIGKILL');
    assert.ok(exited, 'the process exits after SIGTERM');
    const code = await first.exited;
    assert.equal(code, 0, first.log.slice(-3000));
    assert.doesNotMatch(first.log, /grace period exceeded|please report/);
    const stopping = first.log.indexOf('signal received: stopping');
    const lastCheckpoint = first.log.lastIndexOf('"msg":"flush: checkpointed"');
    assert.ok(stopping >= 0 && lastCheckpoint > stopping, 'a final flush is checkpointed after SIGTERM');
    const afterFirst = emfTotals(emf).LogErrors ?? 0;
    assert.ok(afterFirst <= truth, `${afterFirst} <= ${truth}`);

    const second = startDaemon({ dir, inputs, env });
    assert.ok(await started(second), second.log);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= truth, second), second.log.slice(-3000));
    assert.equal(await second.term(), 0, second.log.slice(-3000));
    assert.equal(emfTotals(emf).LogErrors, truth, 'every line counted once across the SIGTERM');
    console.log(`# first life counted ${afterFirst} of ${truth} before SIGTERM`);
  });
});
