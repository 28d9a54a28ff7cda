/**
 * User rules: a regular expression with named groups -> a counter and its dimensions, the way an
 * mtail program turns a matching line into a metric. Checked once at start-up; a bad rule stops
 * the service with a message naming the rule.
 */
import { ConfigError } from '@windsock/core';
import { CardinalityGuard, COUNTERS } from './counters.ts';

/** A rule as written in the config. */
export interface RuleConfig {
  /** Counter name to increment. */
  name: string;
  /** JavaScript regular expression, tested against every physical line (ANSI codes kept). */
  match: string;
  /** Dimension name -> named group of `match` whose text is the value. */
  dimensions?: Record<string, string> | undefined;
  /** Named group whose number is added instead of 1 (e.g. a byte count). */
  value?: string | undefined;
  /** Only lines of inputs with this component. */
  component?: string | undefined;
  /** Regex flags (`i` for case-insensitive). */
  flags?: string | undefined;
}

/** A validated rule, ready to run. */
export interface CompiledRule {
  name: string;
  regex: RegExp;
  dimensions: [dimension: string, group: string][];
  value: string | undefined;
  component: string | undefined;
  /** One guard per dimension: at most `maxValues` distinct values per flush. */
  guards: CardinalityGuard[];
  /** Lines whose `value` group was not a finite number (skipped). */
  badValues: number;
}

const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,199}$/;
const DIMENSION_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,199}$/;
const RESERVED_DIMENSIONS = new Set(['Cluster', 'Component']);

/** Validate and compile rules; throws ConfigError naming the first bad rule and what to change. */
export function compileRules(rules: readonly RuleConfig[], maxValuesPerDimension: number): CompiledRule[] {
  const names = new Set<string>();
  return rules.map((r, i) => {
    const where = `logMetrics.rules[${i}]${r.name ? ` (${JSON.stringify(r.name)})` : ''}`;
    if (!METRIC_NAME.test(r.name ?? '')) {
      throw new ConfigError(
        `${where}: name must be a metric name (letters, digits, _ . -; starting with a letter), e.g. "DagImportErrors"`,
      );
    }
    if (r.name in COUNTERS) throw new ConfigError(`${where}: name clashes with the built-in counter ${r.name}`);
    let regex: RegExp;
    try {
      regex = new RegExp(r.match, r.flags ?? '');
    } catch (err) {
      throw new ConfigError(`${where}: match is not a valid regular expression: ${(err as Error).message}`);
    }
    if (regex.global || regex.sticky)
      throw new ConfigError(`${where}: flags g and y are not allowed (one count per line)`);
    if (regex.test('')) throw new ConfigError(`${where}: match also matches an empty line; anchor or tighten it`);
    const groups = namedGroups(r.match);
    const dimensions: [string, string][] = [];
    for (const [dim, group] of Object.entries(r.dimensions ?? {})) {
      if (!DIMENSION_NAME.test(dim) || RESERVED_DIMENSIONS.has(dim)) {
        throw new ConfigError(
          `${where}: dimension ${JSON.stringify(dim)} is not allowed (Cluster and Component are set by log-metrics)`,
        );
      }
      if (!groups.has(group)) {
        throw new ConfigError(
          `${where}: dimension ${dim} uses the group ${JSON.stringify(group)}, which match does not define; write (?<${group}>...) in match`,
        );
      }
      dimensions.push([dim, group]);
    }
    if (dimensions.length > 20) throw new ConfigError(`${where}: at most 20 dimensions per rule`);
    if (r.value !== undefined && !groups.has(r.value)) {
      throw new ConfigError(`${where}: value uses the group ${JSON.stringify(r.value)}, which match does not define`);
    }
    const key = `${r.name}\u0000${r.component ?? ''}`;
    if (names.has(key)) throw new ConfigError(`${where}: a rule with this name and component is defined twice`);
    names.add(key);
    return {
      name: r.name,
      regex,
      dimensions,
      value: r.value,
      component: r.component,
      guards: dimensions.map(() => new CardinalityGuard(maxValuesPerDimension)),
      badValues: 0,
    };
  });
}

function namedGroups(source: string): Set<string> {
  const out = new Set<string>();
  for (const m of source.matchAll(/\(\?<([A-Za-z_$][A-Za-z0-9_$]*)>/g)) out.add(m[1]!);
  return out;
}

/** Run the rules on one line; `add` receives each match's counter, dimensions and increment. */
export function applyRules(
  rules: readonly CompiledRule[],
  component: string,
  line: string,
  add: (name: string, dims: Record<string, string>, n: number) => void,
): void {
  for (const rule of rules) {
    if (rule.component !== undefined && rule.component !== component) continue;
    const m = rule.regex.exec(line);
    if (!m) continue;
    let n = 1;
    if (rule.value !== undefined) {
      n = Number(m.groups?.[rule.value]);
      if (!Number.isFinite(n)) {
        rule.badValues++;
        continue;
      }
    }
    const dims: Record<string, string> = {};
    for (let i = 0; i < rule.dimensions.length; i++) {
      const [dim, group] = rule.dimensions[i]!;
      const raw = m.groups?.[group] ?? '';
      dims[dim] = rule.guards[i]!.admit(raw === '' ? 'none' : raw.slice(0, 256));
    }
    add(rule.name, dims, n);
  }
}
