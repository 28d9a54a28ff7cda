import { REDACTED, redactSecretValue } from '../redact.ts';
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
    if (v !== undefined && leaf.secret) value = typeof v === 'string' ? redactSecretValue(v) : REDACTED;
    return { key: leaf.key, value, source: loaded.sources.get(leaf.key) ?? 'default' };
  });
}

/** Values longer than this are cut in `config print`'s text form, so the source column stays on screen. */
export const PRINT_VALUE_WIDTH = 60;

/**
 * Render {@link effectiveConfig} as aligned text lines: `key = value   # source`. A value longer
 * than {@link PRINT_VALUE_WIDTH} characters is cut with `…` and a last line says so
 * (`--format json` shows every value whole).
 */
export function renderEffectiveConfig(rows: PrintedValue[]): string {
  let cut = 0;
  const shown = rows.map((r) => {
    let text = r.value === undefined ? '(unset)' : JSON.stringify(r.value);
    if (text.length > PRINT_VALUE_WIDTH) {
      text = `${text.slice(0, PRINT_VALUE_WIDTH - 1)}…`;
      cut += 1;
    }
    return { ...r, text };
  });
  const w = Math.max(...shown.map((r) => r.key.length + r.text.length + 3));
  const lines = shown.map((r) => `${`${r.key} = ${r.text}`.padEnd(w)}  # ${r.source}`);
  if (cut) {
    lines.push(
      `# ${cut} value${cut === 1 ? '' : 's'} longer than ${PRINT_VALUE_WIDTH} characters cut (…): config print --format json shows them whole`,
    );
  }
  return `${lines.join('\n')}\n`;
}
