/**
 * The Docker engine restarting under the service: a second, private dockerd of this test's own
 * (never the shared test engine), stopped and started again. Discovery reconnects by itself: the
 * containers that went with the old engine leave, a container started on the new engine is found.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startDocker, stopDocker } from '../../../test/stack/docker.ts';
import { harness, until } from './support/harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
const dir = mkdtempSync(join(tmpdir(), 'ws-cs-engine-'));
const ns = `ws-cs-${randomBytes(3).toString('hex')}`;

before(async () => {
  const engine = await startDocker(dir, ns);
  h = await harness({ socketPath: engine.socketPath });
});
after(async () => {
  await h?.cleanup();
  await stopDocker(dir);
  rmSync(dir, { recursive: true, force: true });
});

test('discovery recovers by itself when the engine restarts', async () => {
  const first = await h.run(h.name('before'), 'sleep 600');
  await h.tracked(first.id);
  await stopDocker(dir); // removes its containers, then stops dockerd
  await until(() => !h.collector.containers.has(first.id), 60_000, 'the old container to leave');
  await startDocker(dir, ns);
  const second = await h.run(h.name('after'), 'sleep 600');
  await h.tracked(second.id);
  const d = h.collector.status().discovery as { connected: boolean; reconnects: number };
  assert.equal(d.connected, true);
  assert.ok(d.reconnects >= 1);
  assert.ok((await h.metricsText()).includes(second.id));
});
