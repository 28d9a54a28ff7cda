import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { REDACTED, redactSecretValue, registerSecret, registerUrlSecret } from '../redact.ts';
import { type BaseConfig, buildSchema, type ConfigSection } from './schema.ts';

/** One leaf of the config tree, as the loader and the reference generator see it. */
export interface ConfigLeaf {
  path: string[];
  key: string;
  env: string;
  type: string;
  description: string;
  default: unknown;
  required: boolean;
  secret: boolean;
  example?: string;
  fallbackEnv: string[];
  enumValues?: unknown[];
}

/** Where an effective value came from. */
export type ValueSource = 'default' | `file ${string}` | `env ${string}` | `flag ${string}`;

/** The effective configuration with the provenance of every value. */
export interface LoadedConfig<T = BaseConfig> {
  config: T;
  sources: Map<string, ValueSource>;
  leaves: ConfigLeaf[];
}

/** Inputs of {@link loadConfig}. */
export interface LoadConfigOptions {
  sections?: readonly ConfigSection[];
  /** YAML file path; `WINDSOCK_CONFIG` is used when absent. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags keyed by dotted config path, e.g. `{ 'http.port': 9465 }`. */
  flags?: Record<string, unknown>;
  /** The flag the user typed for a config key (`{ 'http.port': '--port' }`), named in errors. */
  flagNames?: Record<string, string>;
}

const ENV_PREFIX = 'WINDSOCK_';
/** WINDSOCK_ variables that are not config keys. */
const NON_CONFIG_ENV = /^WINDSOCK_(CONFIG|KEEP_STACK|TEST_.*)$/;

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** The environment variable that overrides a config path, e.g. WINDSOCK_METRICS__FLUSH_INTERVAL_SECONDS. */
export function envName(path: readonly string[]): string {
  return ENV_PREFIX + path.map(snake).join('__');
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  secret?: boolean;
  example?: string;
  fallbackEnv?: string[];
};

function typeName(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeName(s.items) : 'values'}`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.anyOf) return s.anyOf.map(typeName).join(' or ');
  return s.type ?? 'value';
}

/** Flatten a schema into its leaves (objects recurse; arrays and scalars are leaves). */
export function configLeaves(schema: z.ZodType): ConfigLeaf[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out: ConfigLeaf[] = [];
  const walk = (node: JsonSchema, path: string[], required: boolean) => {
    if (node.type === 'object' && node.properties) {
      for (const [k, child] of Object.entries(node.properties)) {
        walk(child, [...path, k], (node.required ?? []).includes(k) && child.default === undefined);
      }
      return;
    }
    out.push({
      path,
      key: path.join('.'),
      env: envName(path),
      type: typeName(node),
      description: node.description ?? '',
      default: node.default,
      required,
      secret: node.secret === true,
      example: node.example,
      fallbackEnv: node.fallbackEnv ?? [],
      enumValues: node.enum ?? (node.items?.enum ? node.items.enum : undefined),
    });
  };
  walk(json, [], false);
  return out;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function coerce(leaf: ConfigLeaf, raw: string, origin: string): unknown {
  const t = leaf.type;
  if (t === 'number' || t === 'integer') {
    const n = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(n)) {
      throw new ConfigError(
        `config key ${leaf.key} (from ${origin}): expected a number, got ${JSON.stringify(raw)}. Example: ${leaf.example ?? '60'}`,
      );
    }
    return n;
  }
  if (t === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(
      `config key ${leaf.key} (from ${origin}): expected true or false, got ${JSON.stringify(raw)}`,
    );
  }
  if (t.startsWith('list of') || t === 'object') {
    const s = raw.trim();
    if (s.startsWith('[') || s.startsWith('{')) {
      try {
        return JSON.parse(s);
      } catch {
        throw new ConfigError(
          `config key ${leaf.key} (from ${origin}): expected JSON (${t}), got ${JSON.stringify(raw)}. Example: ${leaf.example ?? '["a","b"]'}`,
        );
      }
    }
    return s === '' ? [] : s.split(',').map((x) => x.trim());
  }
  return raw;
}

function describeValue(leaf: ConfigLeaf | undefined, value: unknown): string {
  if (value === undefined) return 'nothing';
  if (leaf?.secret) return JSON.stringify(typeof value === 'string' ? redactSecretValue(value) : REDACTED);
  const s = JSON.stringify(value);
  return s && s.length > 80 ? `${s.slice(0, 77)}...` : (s ?? String(value));
}

/**
 * Load the effective configuration. Precedence, highest first: CLI flags, `WINDSOCK_*` environment
 * variables, the YAML file, the fields' fallback environment variables (`fallbackEnv`), schema defaults.
 * Throws {@link ConfigError} naming the key, where the value came from, what is wrong and a good value.
 *
 * @example
 * const { config } = loadConfig({ sections: [queueDepthSection], env: process.env });
 */
export function loadConfig<T = BaseConfig>(opts: LoadConfigOptions = {}): LoadedConfig<T> {
  const env = opts.env ?? process.env;
  const schema = buildSchema(opts.sections ?? []);
  const leaves = configLeaves(schema);
  const byKey = new Map(leaves.map((l) => [l.key, l]));
  const byEnv = new Map(leaves.map((l) => [l.env, l]));
  const raw: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();

  // Other programs' variables that mean the same thing, lowest precedence above defaults.
  for (const leaf of leaves) {
    for (const name of leaf.fallbackEnv) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        setPath(raw, leaf.path, coerce(leaf, v, `env ${name}`));
        sources.set(leaf.key, `env ${name}`);
        break;
      }
    }
  }

  const file = opts.file ?? env.WINDSOCK_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    // The YAML parser is loaded only when there is a file to parse (containers configure through env).
    const { parse: parseYaml, YAMLParseError } = createRequire(import.meta.url)('yaml') as typeof Yaml;
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
      throw new ConfigError(`config file ${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc)) {
        throw new ConfigError(
          `config file ${file} must be a YAML mapping of keys (like "cluster: prod"), not a ${Array.isArray(doc) ? 'list' : typeof doc}`,
        );
      }
      mergeFile(raw, doc as Record<string, unknown>, [], file, byKey, sources);
    }
  }

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || NON_CONFIG_ENV.test(name)) continue;
    const leaf = byEnv.get(name);
    if (!leaf) {
      const near = nearest(name, [...byEnv.keys()]);
      throw new ConfigError(
        `unknown environment variable ${name}: no config key matches it${near ? `; did you mean ${near}?` : '.'} Names look like ${envName(['http', 'port'])}; see the configuration reference in the README`,
      );
    }
    setPath(raw, leaf.path, coerce(leaf, value, `env ${name}`));
    sources.set(leaf.key, `env ${name}`);
  }

  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value === undefined) continue;
    const leaf = byKey.get(key);
    if (!leaf) throw new Error(`internal: flag mapped to unknown config key ${key}`);
    const flag = opts.flagNames?.[key] ?? key;
    const v = typeof value === 'string' ? coerce(leaf, value, `flag ${flag}`) : value;
    setPath(raw, leaf.path, v);
    sources.set(key, `flag ${flag}`);
  }

  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === 'unrecognized_keys') {
      const at = issue.path.join('.');
      const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
      const known = leaves
        .filter((l) => l.path.slice(0, issue.path.length).join('.') === at)
        .map((l) => l.path[issue.path.length]);
      throw new ConfigError(
        `unknown config key ${keys.join(', ')}${file ? ` in ${file}` : ''}; known keys here: ${[...new Set(known)].join(', ')}`,
      );
    }
    const key = issue.path.join('.');
    const leaf = byKey.get(key) ?? leaves.find((l) => key.startsWith(`${l.key}.`));
    const source = sources.get(leaf?.key ?? key) ?? 'default';
    const value = getPath(raw, issue.path as string[]);
    const example = leaf?.example ? `. Example of a good value: ${leaf.example}` : '';
    throw new ConfigError(
      `config key ${key || '(root)'} (from ${source}): ${issue.message.replace(/^Invalid input: /, '')}, got ${describeValue(leaf, value)}${example}`,
    );
  }

  for (const leaf of leaves) {
    if (!leaf.secret) continue;
    const v = getPath(parsed.data, leaf.path);
    if (typeof v === 'string') {
      registerUrlSecret(v);
      if (!/^[a-z]+:\/\//i.test(v)) registerSecret(v);
    }
  }
  for (const leaf of leaves) if (!sources.has(leaf.key)) sources.set(leaf.key, 'default');
  return { config: parsed.data as T, sources, leaves };
}

/** Levenshtein distance (small strings: env names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The candidate closest to `name`, if it is close enough to be a typo of it (or `name` one part of it). */
function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const tail = name.slice(ENV_PREFIX.length);
  if (bestD <= Math.max(2, Math.floor(tail.length / 3))) return best;
  // A key given without its section (WINDSOCK_FLUSH_INTERVAL_SECONDS): the one key that ends with it.
  const suffix = candidates.filter((c) => c.endsWith(`__${tail}`));
  return suffix.length === 1 ? suffix[0] : undefined;
}

function mergeFile(
  raw: Record<string, unknown>,
  doc: Record<string, unknown>,
  path: string[],
  file: string,
  byKey: Map<string, ConfigLeaf>,
  sources: Map<string, ValueSource>,
): void {
  for (const [k, v] of Object.entries(doc)) {
    const p = [...path, k];
    const key = p.join('.');
    if (byKey.has(key)) {
      setPath(raw, p, v);
      sources.set(key, `file ${file}`);
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      mergeFile(raw, v as Record<string, unknown>, p, file, byKey, sources);
    } else {
      // Unknown key: keep it so the strict schema reports it by name.
      setPath(raw, p, v);
    }
  }
}

/** Read a dotted path from a loaded config (for `config print`). */
export function configValue(config: unknown, key: string): unknown {
  return getPath(config, key.split('.'));
}
