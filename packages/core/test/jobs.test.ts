import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeriodicJob, silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Let every pending promise chain run (setImmediate is not mocked). */
const settle = () => new Promise((r) => setImmediate(r));

/** Polls `check` until true; fails after `ms` (a bound for a stuck test, not a timing assertion). */
async function waitUntil(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('periodic jobs', () => {
  it('never overlaps itself: a slow run delays the next one, and that is counted', async (t) => {
    // The clock is mocked: run durations are exact, so a loaded machine cannot add an overrun.
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const started: number[] = [];
    const registry = new Registry();
    const job = new PeriodicJob({
      name: 'slow',
      intervalMs: 40,
      logger: silentLogger(),
      registry,
      run: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        started.push(Date.now());
        if (runs <= 3) await new Promise((r) => setTimeout(r, 120)); // three slow runs, then instant ones
        running--;
      },
    });
    job.start();
    for (let ms = 0; ms < 700; ms++) {
      await settle();
      t.mock.timers.tick(1);
    }
    await settle();
    await job.stop();
    assert.equal(maxRunning, 1, 'two runs overlapped');
    assert.equal(job.stats.overruns, 3, 'exactly the three slow runs overran');
    // Each slow run delays the next start by its whole duration; then one start per interval.
    assert.ok(started[1]! - started[0]! >= 120 && started[2]! - started[1]! >= 120 && started[3]! - started[2]! >= 120);
    for (let i = 4; i < started.length; i++) assert.equal(started[i]! - started[i - 1]!, 40, `start ${i}`);
    assert.ok(job.stats.runs >= 10, `only ${job.stats.runs} runs`);
    const text = await registry.metrics();
    assert.match(text, /windsock_job_overruns_total\{job="slow"\} 3/);
  });

  it('a failing run is counted and the job keeps going', async () => {
    let n = 0;
    const job = new PeriodicJob({
      name: 'flaky',
      intervalMs: 20,
      logger: silentLogger(),
      run: async () => {
        n++;
        if (n % 2 === 1) throw new Error('boom');
      },
    });
    job.start();
    await waitUntil('four runs', () => job.stats.runs >= 4);
    await job.stop();
    assert.ok(job.stats.failures >= 2);
    assert.equal(job.stats.failures, Math.ceil(job.stats.runs / 2));
  });

  it('stop() waits for the run in flight and aborts its signal', async () => {
    let aborted = false;
    let finished = false;
    let began = false;
    const job = new PeriodicJob({
      name: 'long',
      intervalMs: 1000,
      logger: silentLogger(),
      run: async (signal) => {
        began = true;
        await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
        aborted = signal.aborted;
        await sleep(50);
        finished = true;
      },
    });
    job.start();
    await waitUntil('the run began', () => began);
    await job.stop();
    assert.ok(aborted && finished);
  });
});
