import type { LogEvent } from './types.ts';

/**
 * Counts each hand-over of a task instance to the executor once, though up to three scheduler lines
 * describe it: 2.10 prints `Trying to enqueue tasks: [...]`, then per TI `Sending TaskInstanceKey(...)`
 * and `Adding to queue: [...]`; 2.7-2.9 print the last two; 3.x only the first.
 *
 * Rule: a sent-to-executor event counts when its task-instance key is not pending. It then stays
 * pending until an executor event or a `TaskInstance Finished` line for that key releases it (Celery
 * reports `queued` right after the send), or until a send for the same key names another try number.
 * Pending keys are bounded (oldest dropped first), so a scheduler log that never reports back cannot
 * grow memory. Use one instance per scheduler log stream.
 */
export class SentToExecutorDedupe {
  private readonly pending = new Map<string, number | undefined>();

  constructor(private readonly maxPendingKeys = 100_000) {}

  /** Task instances currently pending (sent, not yet reported back). */
  get size(): number {
    return this.pending.size;
  }

  /** Feed every event of the stream in order; true when this event is a send that should be counted. */
  observe(event: LogEvent): boolean {
    if (event.kind === 'executor-event' || event.kind === 'task-instance-finished') {
      if (event.ti) this.pending.delete(event.ti.key);
      return false;
    }
    if (event.kind !== 'sent-to-executor') return false;
    const key = event.ti.key;
    const tryNumber = event.ti.tryNumber;
    if (this.pending.has(key)) {
      const seen = this.pending.get(key);
      if (seen === undefined || tryNumber === undefined || seen === tryNumber) {
        if (seen === undefined && tryNumber !== undefined) this.pending.set(key, tryNumber);
        return false;
      }
    }
    this.pending.delete(key);
    if (this.pending.size >= this.maxPendingKeys) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(key, tryNumber);
    return true;
  }
}
