/**
 * A source folder that cannot be listed is one warning per outage, not one per scan (a scan runs
 * every few seconds), and the other sources go on being shipped; once it can be listed again that
 * is said once and its files are found. (Running as root, permissions do not stop a listing: a
 * process-log "folder" that is a file gives the same ENOTDIR path through the code.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '@windsock/core';
import { FileDiscovery, type SourceSpec } from '../src/discovery.ts';

test('an unlistable source folder is one warning per outage; the other sources are scanned', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-discovery-'));
  try {
    const lines: { level: string; msg: string }[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger({ name: 'log-shipper', level: 'info', destination });
    const base = join(dir, 'logs');
    const task = join(base, 'dag_id=d/run_id=r/task_id=t/attempt=1.log');
    mkdirSync(join(base, 'dag_id=d/run_id=r/task_id=t'), { recursive: true });
    writeFileSync(task, 'x\n');
    const broken = join(dir, 'scheduler');
    writeFileSync(broken, 'not a folder');
    const sources: SourceSpec[] = [
      { kind: 'task', directory: base, include: ['**/*.log'], exclude: [], remote: 's3://b/l' },
      { kind: 'process', directory: broken, include: ['*.log'], exclude: [], remote: 's3://b/p' },
    ];
    const found: string[] = [];
    const discovery = new FileDiscovery(sources, logger, async (path) => {
      found.push(path);
    });
    for (let i = 0; i < 3; i++) assert.deepEqual([...(await discovery.scan())], [task]);
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1, JSON.stringify(lines));
    assert.deepEqual(Object.keys(discovery.problems.active()), [broken]);

    rmSync(broken);
    mkdirSync(broken);
    writeFileSync(join(broken, 'scheduler.log'), 'y\n');
    const seen = await discovery.scan();
    assert.ok(seen.has(join(broken, 'scheduler.log')));
    assert.equal(lines.filter((l) => l.msg === 'log path readable again').length, 1);
    assert.deepEqual(discovery.problems.active(), {});
    assert.equal(lines.filter((l) => l.level === 'warn').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
