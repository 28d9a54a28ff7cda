import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Component, TruthCounters } from './truth.ts';

/** A log file the simulator writes, by its path relative to the output folder. */
export interface LogFileRef {
  rel: string;
  component: Component;
}

/**
 * Buffers log text per file and appends it at each virtual tick, so a file grows the way a live log
 * does, in as few writes as possible. Knows every file's byte and line count.
 */
export class LogSink {
  private readonly pending = new Map<string, string[]>();
  private readonly madeDirs = new Set<string>();
  private readonly lastUs = new Map<string, number>();
  /** Bytes written (or buffered) per file, by relative path. */
  readonly bytes = new Map<string, number>();
  /** Lines written (or buffered) per component. */
  readonly linesByComponent: Record<Component, number> = { scheduler: 0, worker: 0, task: 0 };

  constructor(
    readonly outDir: string,
    readonly truth: TruthCounters,
  ) {}

  /**
   * The timestamp to print for a line due at `t`: never earlier than the file's previous line, so
   * every file reads in time order even when two events interleave.
   */
  clock(file: LogFileRef, t: number): number {
    const last = this.lastUs.get(file.rel) ?? t;
    const tt = Math.max(t, last);
    this.lastUs.set(file.rel, tt);
    return tt;
  }

  /** Queues `text` (whole lines, each ending in `\n`) for `file`. */
  write(file: LogFileRef, text: string): void {
    let buf = this.pending.get(file.rel);
    if (!buf) {
      buf = [];
      this.pending.set(file.rel, buf);
    }
    buf.push(text);
    this.bytes.set(file.rel, (this.bytes.get(file.rel) ?? 0) + Buffer.byteLength(text));
    let lines = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    this.linesByComponent[file.component] += lines;
  }

  /** Counts a record's level: ERROR/CRITICAL -> LogErrors, WARNING -> LogWarnings. */
  countLevel(component: Component, level: string): void {
    const l = level.toUpperCase();
    if (l === 'ERROR' || l === 'CRITICAL') this.truth.add('LogErrors', { Component: component });
    else if (l === 'WARNING') this.truth.add('LogWarnings', { Component: component });
  }

  /** Appends everything queued to the files. */
  flush(): void {
    for (const [rel, parts] of this.pending) {
      const path = join(this.outDir, rel);
      const dir = dirname(path);
      if (!this.madeDirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      appendFileSync(path, parts.join(''));
    }
    this.pending.clear();
  }
}
