import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, CronJob, PeriodicJob, silentLogger } from '@windsock/core';
import { Registry } from 'prom-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('periodic jobs', () => {
  it('never overlaps itself: a slow run delays the next one, and that is counted', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
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
        await sleep(runs <= 3 ? 120 : 5); // three slow runs, then fast ones
        running--;
      },
    });
    job.start();
    await sleep(700);
    await job.stop();
    assert.equal(maxRunning, 1, 'two runs overlapped');
    assert.equal(job.stats.overruns, 3, 'exactly the three slow runs overran');
    assert.ok(job.stats.runs >= 6, `only ${job.stats.runs} runs`);
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
    await sleep(200);
    await job.stop();
    assert.ok(job.stats.failures >= 2);
    assert.equal(job.stats.failures, Math.ceil(job.stats.runs / 2));
  });

  it('stop() waits for the run in flight and aborts its signal', async () => {
    let aborted = false;
    let finished = false;
    const job = new PeriodicJob({
      name: 'long',
      intervalMs: 1000,
      logger: silentLogger(),
      run: async (signal) => {
        await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
        aborted = signal.aborted;
        await sleep(50);
        finished = true;
      },
    });
    job.start();
    await sleep(30);
    await job.stop();
    assert.ok(aborted && finished);
  });

  it('cron jobs reject a bad expression with an example, and skip (and count) ticks while still running', async () => {
    assert.throws(
      () => new CronJob({ name: 'bad', cron: 'every minute', logger: silentLogger(), run: async () => {} }),
      (e: Error) => e instanceof ConfigError && /invalid cron expression "every minute".*Example/.test(e.message),
    );
    let active = 0;
    let maxActive = 0;
    const job = new CronJob({
      name: 'each-second',
      cron: '* * * * * *',
      logger: silentLogger(),
      run: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(1500);
        active--;
      },
    });
    job.start();
    await sleep(3300);
    await job.stop();
    assert.equal(maxActive, 1);
    assert.ok(job.stats.overruns >= 1, 'a tick arrived while the previous run was going');
  });
});
