import { readdirSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

/** A path pattern resolved once: a plain path, or a glob walked from its fixed leading directory. */
export interface PathPattern {
  /** The pattern as the user wrote it. */
  pattern: string;
  /** False for a plain path (cheap to check on every poll). */
  isGlob: boolean;
  /** Expand to the existing paths it names right now (files or not: the caller stats them). */
  expand(): string[];
}

/** Deepest directory level a `**` walk descends to (Airflow's task log tree is 4-5 levels). */
const MAX_WALK_DEPTH = 24;

/** Compile a path or glob (`*`, `?`, `[..]`, `{a,b}`, `**`) relative to `cwd`. */
export function compilePattern(pattern: string, cwd = process.cwd()): PathPattern {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const scan = picomatch.scan(abs);
  if (!scan.isGlob) return { pattern, isGlob: false, expand: () => [abs] };
  const base = scan.base === '' ? sep : scan.base;
  const rest = scan.glob.split('/').filter((s) => s.length > 0);
  const recursive = rest.includes('**');
  const full = picomatch(abs, { dot: false });
  // Without `**`, each directory level has its own segment matcher, so the walk prunes early.
  const segment = rest.map((s) => picomatch(s, { dot: false }));
  return {
    pattern,
    isGlob: true,
    expand() {
      const out: string[] = [];
      const walk = (dir: string, depth: number): void => {
        let entries: import('node:fs').Dirent[];
        try {
          entries = readdirSync(dir, { withFileTypes: true });
        } catch {
          return; // the directory does not exist (yet) or is not readable: nothing to tail there
        }
        for (const e of entries) {
          const p = join(dir, e.name);
          if (recursive) {
            if (e.isDirectory()) {
              if (depth < MAX_WALK_DEPTH && e.name[0] !== '.') walk(p, depth + 1);
            } else if (full(p)) out.push(p);
            continue;
          }
          const m = segment[depth];
          if (!m?.(e.name)) continue;
          if (depth === rest.length - 1) {
            if (!e.isDirectory()) out.push(p);
          } else if (e.isDirectory() || e.isSymbolicLink()) walk(p, depth + 1);
        }
      };
      walk(base, 0);
      return out;
    },
  };
}
