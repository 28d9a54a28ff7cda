/**
 * Issue 18 item 5: the checkpoint is validated, entry by entry. `files:[null]`, a negative, a
 * string and an unsafe huge offset are dropped with a warning that says what happens to the file
 * (read from its end: nothing counted twice); an offset past the end of a file that still starts
 * with the same bytes resumes at the end too (it used to re-read from 0). The service starts and
 * counts only the lines written after the restart.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { identityOf } from '@windsock/logfiles';
import { tempDir } from '../helpers.ts';
import { appendErrors, emfTotals, errorLine, startDaemon, started, until } from './daemon.ts';

function identity(path: string) {
  const st = statSync(path);
  const fd = openSync(path, 'r');
  try {
    return identityOf(fd, st.dev, st.ino, st.size);
  } finally {
    closeSync(fd);
  }
}

describe('an invalid checkpoint', { timeout: 240_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-cpv-');
  after(cleanup);

  it('drops invalid entries with a warning each; their files are read from the end, nothing twice', async () => {
    const names = ['negative', 'string', 'huge', 'pastend'];
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'logs'));
    const paths = names.map((n) => join(dir, 'logs', `${n}.log`));
    for (const p of paths) {
      let text = '';
      for (let i = 0; i < 30; i++) text += errorLine(i);
      writeFileSync(p, text);
    }
    const [negative, string, huge, pastEnd] = paths as [string, string, string, string];
    const entry = (path: string, offset: unknown) => ({ ...identity(path), path, offset });
    const state = join(dir, 'state');
    mkdirSync(state);
    writeFileSync(
      join(state, 'log-metrics.checkpoint.json'),
      JSON.stringify({
        version: 1,
        savedAt: Date.now(),
        files: [null, entry(negative, -5), entry(string, '1200'), entry(huge, 1e30), entry(pastEnd, 10_000_000)],
        sentKeys: {},
      }),
    );
    const emf = join(dir, 'emf.log');
    const d = startDaemon({ dir, inputs: [join(dir, 'logs', '*.log')], stateDir: state });
    assert.ok(await started(d), d.log);
    // The first poll (which places the files) runs before the first flush: append after it.
    assert.ok(await until(() => d.records('flush: checkpointed').length >= 1, d), d.log);
    for (const p of paths) appendErrors(p, 100, 5);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 20, d), d.log);
    assert.equal(await d.term(), 0, d.log);
    assert.equal(emfTotals(emf).LogErrors, 20, 'only the 4 x 5 lines written after the restart');
    const dropped = d.log.split('\n').filter((l) => l.includes('invalid checkpoint entry dropped'));
    assert.equal(dropped.length, 4, d.log);
    assert.equal(dropped.filter((l) => l.includes('this file is read from its end')).length, 3);
    assert.equal(
      d.records('log file is shorter than its checkpoint offset: reading it from its end (nothing counted twice)')
        .length,
      1,
    );
    assert.doesNotMatch(d.log, /please report|TypeError/);
  });

  it('a file that is not a checkpoint stops start-up with advice that says what moving it away does', async () => {
    const d2 = join(dir, 'garbage');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(d2, 'state'), { recursive: true });
    writeFileSync(join(d2, 'state', 'log-metrics.checkpoint.json'), '{"version": 7');
    writeFileSync(join(d2, 'a.log'), '');
    const d = startDaemon({ dir: d2, inputs: [join(d2, 'a.log')], stateDir: join(d2, 'state') });
    const code = await d.exited;
    assert.equal(code, 2, d.log);
    assert.match(d.log, /lines written since the last checkpoint are NOT counted \(none is counted twice\)/);
    assert.doesNotMatch(d.log, /please report/);
  });
});
