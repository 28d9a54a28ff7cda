import { REDACTED, scrub } from '../redact.ts';
import { configValue, type LoadedConfig } from './load.ts';

/** One row of `windsock config print`. */
export interface PrintedValue {
  key: string;
  value: unknown;
  source: string;
}

/** The effective config, secrets redacted, each value with where it came from. */
export function effectiveConfig(loaded: LoadedConfig): PrintedValue[] {
  return loaded.leaves.map((leaf) => {
    const v = configValue(loaded.config, leaf.key);
    let value: unknown = v;
    if (v !== undefined && leaf.secret) value = typeof v === 'string' && /^[a-z+]+:\/\//i.test(v) ? scrub(v) : REDACTED;
    return { key: leaf.key, value, source: loaded.sources.get(leaf.key) ?? 'default' };
  });
}

/** Render {@link effectiveConfig} as aligned text lines: `key = value   # source`. */
export function renderEffectiveConfig(rows: PrintedValue[]): string {
  const shown = rows.map((r) => ({ ...r, text: r.value === undefined ? '(unset)' : JSON.stringify(r.value) }));
  const w = Math.max(...shown.map((r) => r.key.length + r.text.length + 3));
  return `${shown.map((r) => `${`${r.key} = ${r.text}`.padEnd(w)}  # ${r.source}`).join('\n')}\n`;
}
