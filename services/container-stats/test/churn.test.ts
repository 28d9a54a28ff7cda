/**
 * Churn: containers started and removed while the service samples every second (20 here; set
 * WINDSOCK_CHURN_CONTAINERS=500 for the full run). Afterwards none of them is tracked or on
 * /metrics, and every stat-file handle opened for them is closed again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openStatFileCount } from '@windsock/cgroups';
import { harness, until } from './support/harness.ts';

type H = Awaited<ReturnType<typeof harness>>;
let h: H;
const N = Number(process.env.WINDSOCK_CHURN_CONTAINERS ?? 20);

before(async () => {
  h = await harness();
});
after(async () => {
  await h?.cleanup();
});

test(`${N} containers started and removed leave no series and no open handles behind`, async () => {
  // Handles of containers that are not ours (other tests on the shared engine) come and go too:
  // count only what the collector holds for the churned containers.
  const handlesBefore = openStatFileCount();
  const trackedBefore = new Set(h.collector.containers.keys());
  const ids: string[] = [];
  let removed = 0;
  for (let i = 0; i < N; i++) {
    const c = await h.run(h.name(`churn-${i}`), 'sleep 600');
    ids.push(c.id);
    // Keep at most 5 alive: remove the oldest as new ones start.
    if (ids.length - removed > 5) {
      await h.docker.getContainer(ids[removed] as string).remove({ force: true });
      removed++;
    }
  }
  await until(() => ids.slice(removed).every((id) => h.collector.containers.has(id)), 60_000, 'the live ones');
  while (removed < ids.length) {
    await h.docker.getContainer(ids[removed] as string).remove({ force: true });
    removed++;
  }
  await until(() => ids.every((id) => !h.collector.containers.has(id)), 60_000, 'every removal');
  const text = await h.metricsText();
  for (const id of ids) assert.ok(!text.includes(id), `series of ${id} still on /metrics`);
  // Others' containers may have come or gone meanwhile: compare handles per tracked container.
  const others = [...h.collector.containers.keys()].filter((k) => !trackedBefore.has(k)).length;
  const gone = [...trackedBefore].filter((k) => !h.collector.containers.has(k)).length;
  const perContainer = 12; // 11 cgroup v1 files + net/dev
  const expected = handlesBefore + (others - gone) * perContainer;
  assert.ok(
    Math.abs(openStatFileCount() - expected) <= perContainer,
    `open handles ${openStatFileCount()}, expected about ${expected}`,
  );
});
