import { type Dirent, readdirSync } from 'node:fs';
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
  /** The same paths in the same order, one directory read at a time (nothing is collected). */
  paths(): Generator<string, void, undefined>;
  /** Whether `path` could be one of the paths it names (never false for one of them). */
  couldName(path: string): boolean;
}

/** Deepest directory level a `**` walk descends to (Airflow's task log tree is 4-5 levels). */
const MAX_WALK_DEPTH = 24;

/**
 * Compile a path or glob (`*`, `?`, `[..]`, `{a,b}`, `**`) relative to `cwd`. A directory that
 * exists but cannot be listed is passed to `onError` (a missing one is simply not there yet).
 */
export function compilePattern(
  pattern: string,
  cwd = process.cwd(),
  onError?: (dir: string, err: unknown) => void,
): PathPattern {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const scan = picomatch.scan(abs);
  if (!scan.isGlob) {
    return {
      pattern,
      isGlob: false,
      expand: () => [abs],
      *paths() {
        yield abs;
      },
      couldName: (path) => path === abs,
    };
  }
  const base = scan.base === '' ? sep : scan.base;
  const rest = scan.glob.split('/').filter((s) => s.length > 0);
  const recursive = rest.includes('**');
  const full = picomatch(abs, { dot: false });
  // Without `**`, each directory level has its own segment matcher, so the walk prunes early.
  const segment = rest.map((s) => picomatch(s, { dot: false }));
  const prefix = base.endsWith(sep) ? base : base + sep;
  function* walk(dir: string, depth: number): Generator<string, void, undefined> {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // The directory does not exist (yet): nothing to tail there. Otherwise the caller hears of it.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && onError) onError(dir, err);
      return;
    }
    for (const e of entries) {
      if (recursive) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (depth < MAX_WALK_DEPTH && e.name[0] !== '.') yield* walk(p, depth + 1);
        } else if (full(p)) yield p;
        continue;
      }
      const m = segment[depth];
      if (!m?.(e.name)) continue;
      if (depth === rest.length - 1) {
        if (!e.isDirectory()) yield join(dir, e.name);
      } else if (e.isDirectory() || e.isSymbolicLink()) yield* walk(join(dir, e.name), depth + 1);
    }
  }
  return {
    pattern,
    isGlob: true,
    expand: () => [...walk(base, 0)],
    paths: () => walk(base, 0),
    couldName(path) {
      if (recursive) return full(path);
      if (!path.startsWith(prefix)) return false;
      const parts = path.slice(prefix.length).split(sep);
      return parts.length === rest.length && parts.every((name, i) => segment[i]!(name));
    },
  };
}
