import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkScalablePools,
  decide,
  desiredWorkers,
  initialMemory,
  type PoolMemory,
  type PoolObservation,
  poolDemand,
  resolveWorkerPools,
  type WorkerPool,
  workerPoolsSection,
} from '../src/index.ts';

const [pool] = resolveWorkerPools(
  [
    {
      name: 'w',
      queues: ['default', 'etl'],
      min: 1,
      max: 10,
      maxStepOut: 3,
      scaleInStabilisationSeconds: 60,
      scaleOutCooldownSeconds: 0,
      scaleInCooldownSeconds: 0,
    },
  ],
  { concurrency: 4 },
) as [WorkerPool];

const obs = (o: Partial<PoolObservation>): PoolObservation => ({
  now: 0,
  demand: 0,
  current: 1,
  busy: 0,
  exitsPending: 0,
  ...o,
});

describe('worker pools', () => {
  test('demand is running + max(queued, broker backlog) over the pool queues; desired is clamped', () => {
    const d = new Map([
      ['default', { queued: 5, running: 3, brokerBacklog: 2 }],
      ['etl', { queued: 1, running: 0, brokerBacklog: 4 }],
      ['other', { queued: 100, running: 100 }],
    ]);
    assert.equal(poolDemand(pool, d), 3 + 5 + 0 + 4);
    assert.equal(desiredWorkers(pool, d), Math.ceil(12 / 4));
    assert.equal(desiredWorkers(pool, new Map()), 1, 'min');
    assert.equal(desiredWorkers(pool, new Map([['etl', { queued: 400, running: 0 }]])), 10, 'max');
  });

  test('defaults: concurrency from workerPoolDefaults, maxStepOut = max', () => {
    const [p] = resolveWorkerPools([{ name: 'x', queues: ['q'], min: 0, max: 7 } as never], { concurrency: 8 });
    assert.equal(p?.concurrency, 8);
    assert.equal(p?.maxStepOut, 7);
  });

  test('bad input: min > max, a queue in two pools, a name twice, unknown backend, missing target', () => {
    const parsed = workerPoolsSection.schema.safeParse([{ name: 'a', queues: ['q'], min: 5, max: 2 }]);
    assert.equal(parsed.success, false);
    assert.match(JSON.stringify(parsed.error?.issues), /min must not exceed max/);
    assert.throws(
      () =>
        resolveWorkerPools([
          { name: 'a', queues: ['q'], min: 0, max: 1 } as never,
          { name: 'b', queues: ['r', 'q'], min: 0, max: 1 } as never,
        ]),
      /queue "q" is in both "a" and "b"/,
    );
    assert.throws(
      () =>
        resolveWorkerPools([
          { name: 'a', queues: ['q'], min: 0, max: 1 } as never,
          { name: 'a', queues: ['r'], min: 0, max: 1 } as never,
        ]),
      /"a" is used twice/,
    );
    const one = (backend: unknown) =>
      resolveWorkerPools([{ name: 'a', queues: ['q'], min: 0, max: 1, backend } as never]);
    assert.throws(
      () => checkScalablePools(one({ type: 'kubernetes' })),
      /unknown backend "kubernetes"; known backends: docker, ecs/,
    );
    assert.throws(() => checkScalablePools(one(undefined)), /pool "a" has no backend/);
    assert.throws(() => checkScalablePools(one({ type: 'docker' })), /needs backend.template/);
    assert.throws(
      () => checkScalablePools(one({ type: 'ecs', cluster: 'c' })),
      /needs backend.cluster and backend.service/,
    );
    assert.throws(() => checkScalablePools([]), /workerPools is empty/);
  });
});

describe('decide', () => {
  test('scales out at once, bounded by maxStepOut and max', () => {
    const d = decide(pool, obs({ demand: 40, current: 1 }), initialMemory());
    assert.equal(d.desired, 10);
    assert.equal(d.action, 'scale-out');
    assert.equal(d.add, 3, 'step limit');
    const d2 = decide(pool, obs({ demand: 40, current: 9 }), initialMemory());
    assert.equal(d2.add, 1, 'never above max');
    const d3 = decide(pool, obs({ demand: 8, current: 1 }), initialMemory());
    assert.equal(d3.add, 1, 'ceil(8 / 4) - 1');
  });

  test('scales in only after the whole window, to the window peak, by exit budget', () => {
    let m: PoolMemory = initialMemory();
    const steps: Array<[number, number]> = [
      [0, 12], // 3 needed of 6
      [20_000, 4], // 1
      [40_000, 4],
      [59_000, 4],
    ];
    for (const [now, demand] of steps) {
      const d = decide(pool, obs({ now, demand, current: 6 }), m);
      assert.equal(d.action, 'hold', `at ${now}`);
      assert.equal(d.deferred, 'Stabilising');
      assert.equal(d.exitBudget, 0);
      m = d.memory;
    }
    const d = decide(pool, obs({ now: 61_000, demand: 4, current: 6 }), m);
    assert.equal(d.action, 'scale-in');
    // the 12-demand decision at t=0 left the window (61 s > 60 s): the peak is 1 worker
    assert.equal(d.exitBudget, 5);
    const dPeak = decide(pool, obs({ now: 60_000, demand: 4, current: 6 }), m);
    assert.equal(dPeak.exitBudget, 6 - 3, 'window still holds the 3-worker peak');
  });

  test('never below the busy workers; pending exits count as gone', () => {
    let m = decide(pool, obs({ now: 0, demand: 0, current: 5 }), initialMemory()).memory;
    const busy = decide(pool, obs({ now: 61_000, demand: 0, current: 5, busy: 5 }), m);
    assert.equal(busy.action, 'hold');
    assert.equal(busy.deferred, 'BusyWorkers');
    const some = decide(pool, obs({ now: 61_000, demand: 0, current: 5, busy: 2 }), m);
    assert.equal(some.exitBudget, 3);
    const pending = decide(pool, obs({ now: 61_000, demand: 0, current: 5, busy: 2, exitsPending: 2 }), m);
    assert.equal(pending.exitBudget, 1);
    m = some.memory;
    // demand comes back: the window resets
    const up = decide(pool, obs({ now: 62_000, demand: 20, current: 5 }), m);
    assert.equal(up.memory.belowSince, null);
    assert.equal(up.action, 'none');
  });

  test('a backend error or an unreadable metadb holds scale-in', () => {
    const m = decide(pool, obs({ now: 0, demand: 0, current: 5 }), initialMemory()).memory;
    const be = decide(pool, obs({ now: 100_000, demand: 0, current: null }), m);
    assert.equal(be.action, 'hold');
    assert.equal(be.deferred, 'BackendError');
    assert.equal(be.exitBudget, 0);
    const md = decide(pool, obs({ now: 100_000, demand: null, current: 5 }), m);
    assert.equal(md.deferred, 'MetadbUnreadable');
    assert.equal(md.exitBudget, 0);
    assert.equal(md.add, 0);
    const low = decide(pool, obs({ now: 0, demand: null, current: 0 }), initialMemory());
    assert.equal(low.add, 1, 'still brought up to min');
  });

  test('cooldowns', () => {
    const p = { ...pool, scaleOutCooldownSeconds: 30, scaleInCooldownSeconds: 90 };
    const first = decide(p, obs({ now: 0, demand: 8, current: 1 }), initialMemory());
    assert.equal(first.add, 1);
    const again = decide(p, obs({ now: 10_000, demand: 16, current: 2 }), first.memory);
    assert.equal(again.action, 'hold');
    const later = decide(p, obs({ now: 31_000, demand: 16, current: 2 }), first.memory);
    assert.equal(later.add, 2);
    let m = later.memory;
    m = decide(p, obs({ now: 32_000, demand: 0, current: 4 }), m).memory;
    const inCooldown = decide(p, obs({ now: 100_000, demand: 0, current: 4 }), m);
    assert.equal(inCooldown.deferred, 'Cooldown');
    const after = decide(p, obs({ now: 122_000, demand: 0, current: 4 }), m);
    assert.equal(after.exitBudget, 3);
  });
});
