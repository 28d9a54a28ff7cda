/**
 * Crash test: a writer appends Airflow records at a steady rate (with rename rotation) while
 * `windsock log-metrics` is SIGKILLed and restarted 20 times at random moments. What was published
 * — to CloudWatch (moto, read back with GetMetricStatistics) and to the EMF file — must equal the
 * ground truth within the documented guarantee: nothing is ever lost, and a count can be published
 * twice only by a process killed between sending a flush and checkpointing it (the test finds those
 * kills in each process's log and bounds the excess by what that flush carried).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { awsEnv, testStack } from '../../../test/helpers/stack.ts';
import { sleep, tempDir } from './helpers.ts';

const CLI = fileURLToPath(new URL('../../../bin/windsock.mjs', import.meta.url));
const WRITER = fileURLToPath(new URL('./support/crash-writer.mjs', import.meta.url));
const COUNTERS = ['LogErrors', 'LogWarnings', 'Tracebacks'] as const;

/** What the writer's records add up to (see crash-writer.mjs). */
function truthFor(records: number): Record<(typeof COUNTERS)[number], number> {
  let errors = 0;
  let warnings = 0;
  for (let i = 1; i <= records; i++) {
    if (i % 5 === 0) errors++;
    else if (i % 5 === 1) warnings++;
  }
  return { LogErrors: errors, LogWarnings: warnings, Tracebacks: errors };
}

/** Waits until `ok()` holds, at most `ms` (start-up on a loaded CI machine can take many seconds). */
async function until(ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await sleep(20);
}

interface Life {
  proc: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}

describe('log-metrics under SIGKILL and restart', { timeout: 480_000 }, () => {
  const { dir, cleanup } = tempDir('lm-crash-');
  const id = `crash${process.pid}${Date.now() % 100000}`;
  const namespace = `WindsockCrash/${id}`;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    await testStack();
    env = {
      ...process.env,
      ...(await awsEnv()),
      WINDSOCK_CLUSTER: id,
      WINDSOCK_HTTP__ENABLED: 'false',
      WINDSOCK_METRICS__NAMESPACE: namespace,
      WINDSOCK_METRICS__EMF_PATH: join(dir, 'emf.log'),
    };
  });
  after(cleanup);

  const everyLife: Life[] = [];
  after(() => {
    for (const l of everyLife) l.proc.kill('SIGKILL');
  });

  function startLogMetrics(n: number): Life {
    const logPath = join(dir, `life-${n}.log`);
    const proc = spawn(
      process.execPath,
      [
        CLI,
        'log-metrics',
        join(dir, 'scheduler.log*'),
        '--sinks',
        'cloudwatch,emf',
        '--flush-interval',
        '0.5',
        '--state-dir',
        join(dir, 'state'),
        '--log-level',
        'debug',
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const life: Life = {
      proc,
      get log() {
        return log;
      },
      exited,
    };
    // Kept for a failing run's post-mortem; the folder may be gone when the last life exits.
    void exited.then(() => {
      try {
        writeFileSync(logPath, log);
      } catch {}
    });
    everyLife.push(life);
    return life;
  }

  /** Counts of the last flush a process sent but did not checkpoint (it may have reached the sinks). */
  function inFlight(log: string): Record<string, number> {
    const sent = new Map<number, Record<string, number>>();
    for (const line of log.split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { msg: string; flush?: number; totals?: Record<string, number> };
      if (rec.msg === 'flush: publishing' && rec.flush !== undefined) sent.set(rec.flush, rec.totals ?? {});
      if (rec.msg === 'flush: checkpointed' && rec.flush !== undefined) sent.delete(rec.flush);
    }
    const out: Record<string, number> = {};
    for (const t of sent.values()) for (const [k, v] of Object.entries(t)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  function emfTotals(): Record<string, number> {
    const out: Record<string, number> = {};
    let text = '';
    try {
      text = readFileSync(join(dir, 'emf.log'), 'utf8');
    } catch {
      return out;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      const doc = JSON.parse(line) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
      };
      for (const m of doc._aws.CloudWatchMetrics[0]!.Metrics) out[m.Name] = (out[m.Name] ?? 0) + Number(doc[m.Name]);
    }
    return out;
  }

  it('publishes every line exactly once across 20 SIGKILLs, except what a killed in-flight flush may repeat', async () => {
    // The writer keeps writing until every kill is done (so each kill lands amid work), then stops
    // on a stop file and says how many records it wrote: the truth follows from that number.
    const stopFile = join(dir, 'writer.stop');
    let life = startLogMetrics(0);
    // Wait for the first start's checkpoint so the log file, created next, is read from its start.
    await until(() => life.log.includes('service started'));
    assert.ok(life.log.includes('service started'), life.log);
    const writer = spawn(process.execPath, [WRITER, join(dir, 'scheduler.log'), '1000000', '150', '1500', stopFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let writerOut = '';
    writer.stdout!.on('data', (d: Buffer) => {
      writerOut += d.toString();
    });
    const writerDone = new Promise<void>((r) => writer.on('exit', () => r()));
    after(() => writer.kill('SIGKILL'));

    const excess: Record<string, number> = {};
    let flushesBeforeKill = 0;
    let livesThatFlushed = 0;
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let kill = 1; kill <= 20; kill++) {
      // Mostly while working (after a first checkpointed flush: between or during later flushes),
      // sometimes while starting. Waiting on the log, not the clock, keeps this true on a slow machine.
      if (random() < 0.85) {
        await until(() => life.log.includes('flush: checkpointed'));
        await sleep(random() * 1500);
      } else {
        await sleep(random() * 2000);
      }
      life.proc.kill('SIGKILL');
      await life.exited;
      for (const [k, v] of Object.entries(inFlight(life.log))) excess[k] = (excess[k] ?? 0) + v;
      const flushes = life.log.split('flush: checkpointed').length - 1;
      flushesBeforeKill += flushes;
      if (flushes > 0) livesThatFlushed++;
      if (random() < 0.3) await sleep(random() * 500); // sometimes down for a while
      life = startLogMetrics(kill);
    }
    writeFileSync(stopFile, '');
    await writerDone;
    const records = Number(writerOut.trim());
    assert.ok(records > 1000, `the writer wrote ${writerOut.trim()} records`);
    const truth = truthFor(records);
    console.log(`# ${livesThatFlushed}/20 killed lives had checkpointed flushes (${flushesBeforeKill} in all)`);
    // The kills must land in the middle of the work, not only during start-up.
    assert.ok(livesThatFlushed >= 10, `${livesThatFlushed} lives flushed before being killed`);
    // Let the last life catch up (records finish after 1 s idle), then stop it cleanly.
    for (let i = 0; i < 100; i++) {
      const t = emfTotals();
      if (COUNTERS.every((c) => (t[c] ?? 0) >= truth[c])) break;
      await sleep(200);
    }
    // SIGTERM before the CLI has installed its handlers would just kill it: wait for the start.
    await until(() => life.log.includes('service started'));
    life.proc.kill('SIGTERM');
    assert.equal(await life.exited, 0);
    assert.deepEqual(inFlight(life.log), {}, 'a clean stop checkpoints its last flush');

    const emf = emfTotals();
    const cw = new CloudWatchClient({
      endpoint: env.AWS_ENDPOINT_URL,
      region: 'us-east-1',
      maxAttempts: 2,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    for (const name of COUNTERS) {
      const out = await cw.send(
        new GetMetricStatisticsCommand({
          Namespace: namespace,
          MetricName: name,
          Dimensions: [
            { Name: 'Cluster', Value: id },
            { Name: 'Component', Value: 'scheduler' },
          ],
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(Date.now() + 600_000),
          Period: 60,
          Statistics: ['Sum'],
        }),
      );
      const published = (out.Datapoints ?? []).reduce((a, d) => a + (d.Sum ?? 0), 0);
      const bound = excess[name] ?? 0;
      const msg = `${name}: truth ${truth[name]}, CloudWatch ${published}, EMF ${emf[name]}, allowed excess ${bound}`;
      console.log(`# ${msg}`);
      assert.ok(published >= truth[name], `nothing lost in CloudWatch: ${msg}`);
      assert.ok(published <= truth[name] + bound, `no double count beyond in-flight flushes: ${msg}`);
      assert.ok((emf[name] ?? 0) >= truth[name], `nothing lost in EMF: ${msg}`);
      assert.ok((emf[name] ?? 0) <= truth[name] + bound, `EMF within the guarantee: ${msg}`);
    }
  });
});
