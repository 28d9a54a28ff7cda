/**
 * `windsock worker-agent`: runs beside one Celery worker. Each poll it asks the worker what it runs
 * (Celery remote control: `active` and `reserved` for its hostname) and, when the metadb is
 * configured, whether task instances run with its hostname; it reports to the coordinator, and
 * when idle that report asks whether it may leave. Granted, it stops consuming (`cancel_consumer`
 * per queue, confirmed by `active_queues`), checks once more that nothing is active or reserved and
 * shuts the worker down warm (SIGTERM to the Celery main process, or Celery's `shutdown` command).
 * A worker that got a task meanwhile consumes again (`add_consumer`), the grant is given back, and
 * the agent reports busy.
 */
import { CeleryControl } from '@windsock/airflow';
import { errorMessage, type Logger, type Service } from '@windsock/core';
import type { Redis } from 'ioredis';
import type { ReportAnswer } from './coordinator.ts';

/** Options of {@link WorkerAgent}. */
export interface WorkerAgentOptions {
  pool: string;
  workerId: string;
  celeryHostname: string;
  taskHostname: string;
  /** Queues to stop consuming on exit (default: what the worker consumes, from active_queues). */
  queues?: string[];
  coordinatorUrls: string[];
  token: string;
  redis: Redis;
  brokerKeyPrefix: string;
  /** Running/queued task instances with this worker's hostname (optional second opinion). */
  runningOnHost?: (hostname: string) => Promise<number>;
  /** SIGTERM this pid (the Celery main process); without it Celery's `shutdown` command is sent. */
  celeryPid?: () => number | undefined;
  pollMs: number;
  /**
   * After the worker stopped consuming, wait this long before the last look: kombu's Redis
   * transport may still have a BRPOP in flight (1 s timeout) that was sent before the cancel, and a
   * message it takes must show up as reserved (or be requeued) before the worker is stopped.
   */
  settleMs?: number;
  logger: Logger;
  /** Exit the process once the worker is gone (the agent's job is done). */
  onWorkerGone?: () => void;
  /** Release what the agent's builder opened (connections). */
  close?: () => Promise<void>;
}

type AgentState = 'starting' | 'idle' | 'busy' | 'unknown' | 'exiting' | 'gone';

export class WorkerAgent implements Service {
  readonly name = 'worker-agent';
  private readonly control: CeleryControl;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  private state: AgentState = 'starting';
  private queues?: string[];
  private lastError?: string;
  private reports = 0;

  constructor(private readonly opts: WorkerAgentOptions) {
    this.control = new CeleryControl(opts.redis, { globalKeyprefix: opts.brokerKeyPrefix, timeoutMs: 2000 });
    if (opts.queues?.length) this.queues = opts.queues;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.control.close();
    await this.opts.close?.();
  }

  status(): unknown {
    return {
      state: this.state,
      pool: this.opts.pool,
      workerId: this.opts.workerId,
      celeryHostname: this.opts.celeryHostname,
      reports: this.reports,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private schedule(ms: number): void {
    if (this.stopped || this.state === 'gone') return;
    this.timer = setTimeout(() => {
      this.running = this.poll()
        .catch((err) => {
          this.lastError = errorMessage(err);
          this.opts.logger.warn({ err: this.lastError }, 'worker-agent poll failed');
        })
        .finally(() => this.schedule(this.opts.pollMs));
    }, ms);
  }

  /** One poll: look, report, and leave when granted. */
  async poll(): Promise<void> {
    const busy = await this.busy();
    if (busy === null) {
      // The worker does not answer: starting, stuck or gone. Never ask to leave on a guess.
      if (this.state === 'exiting' || this.state === 'gone') return;
      this.state = 'unknown';
      await this.send({ busy: true });
      return;
    }
    this.state = busy ? 'busy' : 'idle';
    const answer = await this.send({ busy });
    if (!busy && answer?.mayExit && answer.grantId) await this.leave(answer.grantId);
  }

  /** Whether the worker runs or holds a task; null when it does not answer. */
  private async busy(): Promise<boolean | null> {
    const { active, reserved } = await this.control.activity(this.opts.celeryHostname);
    if (active === null || reserved === null) return null;
    if (!this.queues) {
      const q = await this.control.activeQueues(this.opts.celeryHostname);
      if (q) this.queues = q.map((x) => x.name);
    }
    if (active.length + reserved.length > 0) return true;
    if (this.opts.runningOnHost) {
      try {
        if ((await this.opts.runningOnHost(this.opts.taskHostname)) > 0) return true;
      } catch (err) {
        this.opts.logger.debug({ err: errorMessage(err) }, 'metadb check failed: going by Celery alone');
      }
    }
    return false;
  }

  private async send(body: { busy: boolean }): Promise<ReportAnswer | null> {
    const payload = JSON.stringify({
      pool: this.opts.pool,
      workerId: this.opts.workerId,
      busy: body.busy,
      taskHostname: this.opts.taskHostname,
    });
    for (const url of this.opts.coordinatorUrls) {
      try {
        const res = await fetch(new URL('/scaler/v1/report', url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.token}` },
          body: payload,
          signal: AbortSignal.timeout(3000),
        });
        if (res.status === 401 || res.status === 403) {
          this.lastError = `coordinator ${url} refused the token (HTTP ${res.status})`;
          continue;
        }
        if (!res.ok) continue;
        const answer = (await res.json()) as ReportAnswer;
        this.reports++;
        // Ask the next coordinator only when this one is not the leader.
        if (answer.leader) return answer;
      } catch (err) {
        this.lastError = `coordinator ${url}: ${errorMessage(err)}`;
      }
    }
    return null;
  }

  private async abort(grantId: string): Promise<void> {
    for (const url of this.opts.coordinatorUrls) {
      await fetch(new URL('/scaler/v1/abort', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.token}` },
        body: JSON.stringify({ pool: this.opts.pool, workerId: this.opts.workerId, grantId }),
        signal: AbortSignal.timeout(3000),
      }).catch(() => undefined);
    }
  }

  /** The exit handshake's worker side. */
  private async leave(grantId: string): Promise<void> {
    const { logger, celeryHostname } = this.opts;
    const queues = this.queues ?? [];
    this.state = 'exiting';
    logger.info({ grantId, queues }, 'exit granted: stopping consumption');
    for (const q of queues) await this.control.cancelConsumer(celeryHostname, q);
    // cancel_consumer is applied soon after its reply: wait until the worker really stopped.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await this.control.activeQueues(celeryHostname);
      if (now && !now.some((x) => queues.includes(x.name))) break;
      if (Date.now() > deadline) {
        logger.warn('the worker did not stop consuming in time: giving the grant back');
        await this.resume(grantId);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, this.opts.settleMs ?? 2500));
    const after = await this.busy();
    if (after !== false) {
      logger.info({ busy: after }, 'the worker got a task meanwhile: consuming again, grant given back');
      await this.resume(grantId);
      return;
    }
    const pid = this.opts.celeryPid?.();
    if (pid) {
      logger.info({ pid }, 'idle and not consuming: SIGTERM to the Celery main process (warm shutdown)');
      process.kill(pid, 'SIGTERM');
    } else {
      logger.info('idle and not consuming: Celery shutdown command (warm shutdown)');
      await this.control.shutdown(celeryHostname);
    }
    // Wait for the worker to go; then this agent's job is done.
    for (let i = 0; i < 600 && !this.stopped; i++) {
      if (!(await this.control.ping(celeryHostname, 1000))) {
        this.state = 'gone';
        logger.info('the worker is gone');
        this.opts.onWorkerGone?.();
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async resume(grantId: string): Promise<void> {
    for (const q of this.queues ?? []) {
      try {
        await this.control.addConsumer(this.opts.celeryHostname, q);
      } catch (err) {
        this.opts.logger.error({ queue: q, err: errorMessage(err) }, 'could not resume consuming');
      }
    }
    await this.abort(grantId);
    this.state = 'busy';
    await this.send({ busy: true });
  }
}
