/**
 * Runs the real Python Celery/kombu (Debian's python3-celery, python3-redis) from tests, so messages
 * are checked against the library that really produces and consumes them.
 */
import { execFileSync, spawnSync } from 'node:child_process';

let cached: string | null | undefined;

/** A python3 that can `import celery, kombu, redis`, or null (the interop tests then skip, saying why). */
export function celeryPython(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(candidate, ['-c', 'import celery, kombu, redis'], { stdio: 'ignore' });
    if (r.status === 0) {
      cached = candidate;
      break;
    }
  }
  return cached;
}

/** Why the interop tests skip when there is no Celery (how to get it). */
export const NO_CELERY = 'python3 with celery/kombu/redis not found (apt-get install -y python3-celery python3-redis)';

/** Runs a Python script with the Celery python, returning stdout; throws with stderr on failure. */
export function runPython(script: string, env: Record<string, string> = {}): string {
  const python = celeryPython();
  if (!python) throw new Error(NO_CELERY);
  return execFileSync(python, ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}
