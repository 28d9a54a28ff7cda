/**
 * Issue 18 item 2: copytruncate while the service is down, with the glob the README recommends
 * (`app.log*`). The copy (`app.log.1`, a new inode) starts with the bytes the checkpoint knows:
 * it is the file already read and resumes at its old offset, while `app.log` (the old inode, now
 * other bytes) is a new file. 15 new lines are counted 15 times, not 125.
 */
import assert from 'node:assert/strict';
import { copyFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { appendErrors, emfTotals, errorLine, startDaemon, started, until } from './daemon.ts';

describe('copytruncate while log-metrics is stopped', { timeout: 240_000 }, () => {
  const { dir, cleanup } = tempDir('lm-fault-ct-');
  after(cleanup);

  it('counts the 15 new lines once: the copy is recognised by its content at the old offset', async () => {
    const app = join(dir, 'app.log');
    const emf = join(dir, 'emf.log');
    let text = '';
    for (let i = 1; i <= 100; i++) text += errorLine(i);
    writeFileSync(app, text); // > 1 KiB: a full fingerprint
    const inputs = [join(dir, 'app.log*')];

    const first = startDaemon({ dir, inputs });
    assert.ok(await started(first), first.log);
    appendErrors(app, 101, 10);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 10, first), first.log);
    assert.equal(await first.term(), 0, first.log);

    // While stopped: copytruncate, then the application writes 5 more lines.
    copyFileSync(app, `${app}.1`);
    truncateSync(app, 0);
    appendErrors(app, 111, 5);

    const second = startDaemon({ dir, inputs });
    assert.ok(await started(second), second.log);
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= 15, second), second.log);
    assert.equal(await second.term(), 0, second.log);
    // 10 lines appended while running + 5 after the rotation; the first start began at the end.
    assert.equal(emfTotals(emf).LogErrors, 15, second.log);
  });
});
