import { Counter, Gauge, type Registry } from 'prom-client';
import { ConfigError, errorMessage } from './errors.ts';
import type { Logger } from './logger.ts';

/** What a job run receives: an abort signal raised when the job is being stopped. */
export type JobRun = (signal: AbortSignal) => Promise<void>;

/** Options of {@link PeriodicJob}. */
export interface JobOptions {
  name: string;
  run: JobRun;
  logger: Logger;
  registry?: Registry;
}

interface JobMetrics {
  runs: Counter<'job' | 'outcome'>;
  overruns: Counter<'job'>;
  duration: Gauge<'job'>;
}

const metricsByRegistry = new WeakMap<Registry, JobMetrics>();
function jobMetrics(registry: Registry | undefined): JobMetrics | undefined {
  if (!registry) return undefined;
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      runs: new Counter({
        name: 'windsock_job_runs_total',
        help: 'Periodic job runs by outcome (ok, error).',
        labelNames: ['job', 'outcome'],
        registers: [registry],
      }),
      overruns: new Counter({
        name: 'windsock_job_overruns_total',
        help: 'Runs that took longer than the interval (the next run was delayed or skipped, never overlapped).',
        labelNames: ['job'],
        registers: [registry],
      }),
      duration: new Gauge({
        name: 'windsock_job_last_duration_seconds',
        help: 'Duration of the last run.',
        labelNames: ['job'],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/**
 * Runs a function every `intervalMs`, never overlapping itself: the next run starts one interval
 * after the previous one started, or at once when the previous run took longer (an overrun, counted).
 * A failing run is logged and counted; the job keeps going.
 *
 * @example
 * const job = new PeriodicJob({ name: 'poll', intervalMs: 15_000, run: () => poller.poll(), logger });
 * job.start(); ... await job.stop();
 */
export class PeriodicJob {
  private timer?: NodeJS.Timeout;
  private current?: Promise<void>;
  private abort = new AbortController();
  private stopped = true;
  /** Counters also readable without a registry (tests, /status). */
  readonly stats = { runs: 0, failures: 0, overruns: 0, lastDurationMs: 0 };
  private readonly metrics?: JobMetrics;

  constructor(private readonly opts: JobOptions & { intervalMs: number; runImmediately?: boolean }) {
    if (!(opts.intervalMs > 0))
      throw new ConfigError(`job ${opts.name}: interval must be > 0 ms, got ${opts.intervalMs}`);
    this.metrics = jobMetrics(opts.registry);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.schedule(this.opts.runImmediately === false ? this.opts.intervalMs : 0);
  }

  /** Run once now (if not already running) and wait for it. */
  async runNow(): Promise<void> {
    if (this.current) return this.current;
    await this.tick(false);
  }

  /** Stop scheduling and wait for the run in flight (its signal is aborted). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.current;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(true), delayMs);
  }

  private async tick(reschedule: boolean): Promise<void> {
    const started = Date.now();
    const { name, logger } = this.opts;
    this.current = (async () => {
      try {
        await this.opts.run(this.abort.signal);
        this.stats.runs++;
        this.metrics?.runs.inc({ job: name, outcome: 'ok' });
      } catch (err) {
        this.stats.runs++;
        this.stats.failures++;
        this.metrics?.runs.inc({ job: name, outcome: 'error' });
        logger.error({ job: name, err: errorMessage(err) }, 'job run failed; it will run again at the next interval');
      }
    })();
    await this.current;
    this.current = undefined;
    const took = Date.now() - started;
    this.stats.lastDurationMs = took;
    this.metrics?.duration.set({ job: name }, took / 1000);
    if (took > this.opts.intervalMs) {
      this.stats.overruns++;
      this.metrics?.overruns.inc({ job: name });
      logger.warn(
        { job: name, tookMs: took, intervalMs: this.opts.intervalMs },
        'job run took longer than its interval; next run starts now',
      );
    }
    if (reschedule) this.schedule(Math.max(0, this.opts.intervalMs - took));
  }
}
