/**
 * Soak (issue 18): log-metrics following many files through SIGKILL/restart cycles and SIGTERMs
 * while catching up. Every life reads part of a backlog (new lines are appended to random files
 * before each restart) and is killed or stopped after a random number of flushes. Afterwards the
 * published total equals the lines written: exactly, except that a SIGKILL landing between a
 * flush reaching the sink and its checkpoint may repeat that one flush (the documented guarantee;
 * the test reads those in-flight flushes from each killed life's log and bounds the excess by
 * them). Every SIGTERM exits 0 within shutdownGraceSeconds, with a final checkpointed flush.
 *
 * CI runs a small version (100 files, 2 SIGKILLs, 1 SIGTERM); WINDSOCK_SOAK=full runs the issue's
 * (2,000 files, 20 SIGKILLs, 5 SIGTERMs) and prints its figures (see README "Faults and soak").
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../helpers.ts';
import { type Daemon, emfTotals, errorLine, startDaemon, started, until } from './daemon.ts';

const FULL = process.env.WINDSOCK_SOAK === 'full';
const FILES = FULL ? 2000 : 100;
const KILLS = FULL ? 20 : 2;
const TERMS = FULL ? 5 : 1;
const GRACE_SECONDS = 5;

/** Deterministic pseudo-random numbers (the run can be repeated). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Counts of flushes a life sent but did not checkpoint (a SIGKILL may have left them published). */
function inFlight(d: Daemon): number {
  const sent = new Map<number, number>();
  for (const r of d.records('flush: publishing')) {
    sent.set(r.flush as number, (r.totals as Record<string, number> | undefined)?.LogErrors ?? 0);
  }
  for (const r of d.records('flush: checkpointed')) sent.delete(r.flush as number);
  let n = 0;
  for (const v of sent.values()) n += v;
  return n;
}

describe(`soak: ${FILES} files, ${KILLS} SIGKILLs, ${TERMS} SIGTERMs while catching up`, {
  timeout: FULL ? 3_600_000 : 400_000,
}, () => {
  const { dir, cleanup } = tempDir('lm-soak-');
  after(cleanup);

  it('publishes every line (a killed in-flight flush at most repeated); every SIGTERM exits 0 in time', async () => {
    const started0 = Date.now();
    const random = rng(18);
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    const inputs = [join(logs, '*.log')];
    const emf = join(dir, 'emf.log');
    const env = { WINDSOCK_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS) };
    let written = 0;
    let seq = 0;
    const writeBacklog = (lines: number) => {
      const perFile = new Map<number, string>();
      for (let i = 0; i < lines; i++) {
        const f = Math.floor(random() * FILES);
        perFile.set(f, (perFile.get(f) ?? '') + errorLine(seq++, 60));
      }
      for (const [f, text] of perFile) appendFileSync(join(logs, `task-${f}.log`), text);
      written += lines;
    };
    // The plan: KILLS + TERMS interruptions, the SIGTERMs spread among the SIGKILLs.
    const plan: ('kill' | 'term')[] = [];
    for (let i = 0; i < KILLS + TERMS; i++) plan.push('kill');
    for (let t = 0; t < TERMS; t++) plan[Math.floor(((t + 0.5) * plan.length) / TERMS)] = 'term';
    let excessBound = 0;
    const termExits: number[] = [];
    let life = startDaemon({ dir, inputs, env });
    assert.ok(await started(life), life.log);
    // Every file exists from the start (created after the first checkpoint: read from its start).
    for (let f = 0; f < FILES; f++) appendFileSync(join(logs, `task-${f}.log`), errorLine(seq++, 60));
    written += FILES;
    writeBacklog(FILES * 40);
    for (const how of plan) {
      // Let this life read (and checkpoint) a little of the backlog, then interrupt it.
      const flushes = 1 + Math.floor(random() * 3);
      const d = life;
      assert.ok(await until(() => d.records('flush: checkpointed').length >= flushes, d), d.log.slice(-2000));
      if (how === 'kill') {
        d.proc.kill('SIGKILL');
        await d.exited;
        excessBound += inFlight(d);
      } else {
        const t0 = Date.now();
        d.proc.kill('SIGTERM');
        const exited = await until(() => d.proc.exitCode !== null, d, GRACE_SECONDS * 1000 + 30_000);
        if (!exited) d.proc.kill('SIGKILL');
        const code = await d.exited;
        termExits.push(Date.now() - t0);
        assert.equal(code, 0, d.log.slice(-3000));
        assert.doesNotMatch(d.log, /grace period exceeded|please report/);
        const stopping = d.log.indexOf('signal received: stopping');
        assert.ok(d.log.lastIndexOf('"msg":"flush: checkpointed"') > stopping, 'final flush checkpointed');
      }
      writeBacklog(FILES * 5);
      life = startDaemon({ dir, inputs, env });
      assert.ok(await started(life), life.log);
    }
    const last = life;
    assert.ok(await until(() => (emfTotals(emf).LogErrors ?? 0) >= written, last, 600_000), last.log.slice(-3000));
    assert.equal(await last.term(), 0, last.log.slice(-3000));
    const published = emfTotals(emf).LogErrors ?? 0;
    console.log(
      `# soak: ${FILES} files, ${written} lines, ${KILLS} SIGKILLs, ${TERMS} SIGTERMs: published ${published} ` +
        `(excess ${published - written}, in-flight bound ${excessBound}); SIGTERM to exit ${termExits
          .map((ms) => `${(ms / 1000).toFixed(1)} s`)
          .join(
            ', ',
          )} (grace ${GRACE_SECONDS} s, includes process exit); took ${Math.round((Date.now() - started0) / 1000)} s`,
    );
    assert.ok(published >= written, `nothing lost: ${published} >= ${written}`);
    assert.ok(published - written <= excessBound, `excess ${published - written} <= in-flight ${excessBound}`);
  });
});
