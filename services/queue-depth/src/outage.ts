import type { Logger } from '@windsock/core';

/** What {@link OutageLog} reports in /status. */
export interface OutageStatus {
  up: boolean | null;
  downSince?: string;
  failedPolls?: number;
  lastError?: string;
}

/**
 * Tracks whether a dependency answers and logs one line when an outage starts and one when it ends
 * (with its duration), never one per poll: at 3 a.m. a restart is two lines, not two hundred.
 */
export class OutageLog {
  private state: boolean | null = null;
  private downSinceMs = 0;
  private failedPolls = 0;
  private lastError?: string;

  /**
   * @param dependency the thing polled, in the user's words (`metadb`, `broker`).
   * @param metric the up metric that goes to 0 while it is down (`MetadbUp`).
   */
  constructor(
    private readonly dependency: string,
    private readonly metric: string,
    private readonly logger: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Record a successful read. */
  up(): void {
    if (this.state === false) {
      const outageSeconds = Math.round((this.nowMs() - this.downSinceMs) / 100) / 10;
      this.logger.info(
        { dependency: this.dependency, outageSeconds, failedPolls: this.failedPolls },
        `${this.dependency} reachable again after ${outageSeconds}s (${this.failedPolls} failed polls); ${this.metric} = 1`,
      );
    }
    this.state = true;
    this.failedPolls = 0;
    this.lastError = undefined;
  }

  /**
   * Record a failed read; logs only when this starts an outage. `why` says what kind of failure it
   * is in the user's words: `unreachable` (no answer) or `schema mismatch` (it answers, but not
   * with the tables and columns expected).
   */
  down(error: string, why: 'unreachable' | 'schema mismatch' = 'unreachable'): void {
    this.failedPolls++;
    this.lastError = why === 'unreachable' ? error : `${why}: ${error}`;
    if (this.state === false) return;
    this.state = false;
    this.downSinceMs = this.nowMs();
    this.logger.error(
      { dependency: this.dependency, err: error },
      `${this.dependency} ${why}: publishing ${this.metric} = 0 and none of its numbers until it answers (${error})`,
    );
  }

  /** Whether the last read succeeded (null before the first). */
  isUp(): boolean | null {
    return this.state;
  }

  /** State for /status. */
  status(): OutageStatus {
    if (this.state !== false) return { up: this.state };
    return {
      up: false,
      downSince: new Date(this.downSinceMs).toISOString(),
      failedPolls: this.failedPolls,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
