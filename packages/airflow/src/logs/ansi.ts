// CSI sequences (colours, cursor moves) and OSC sequences (terminal titles, hyperlinks).
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * What is left of an SGR (colour) sequence after a log collector dealt with its ESC byte:
 * - removed it (`[32mINFO[0m`): the orphan `[` digits/semicolons `m`;
 * - escaped it as text: rsyslog's `#033[32m`, caret notation `^[[32m`, JSON/C escapes left
 *   unescaped `\u001b[32m`, `\x1b[32m`, `\033[32m`, `\e[32m`.
 * Only SGR (final `m`) is taken for the orphan form, so `[2024-05-01 ...]` or `[SQL: ...]` never
 * match; an `[0m` inside a message is taken for colour residue too (it was almost surely one).
 */
const RESIDUE = /(?:#033|\^\[|\\u001[bB]|\\x1[bB]|\\033|\\e)?\[[0-9;]*m/g;

/**
 * Remove ANSI escape sequences. Airflow's `colored_log_format` puts them mid-line (around the
 * timestamp, the file name, the level and the message) and structlog colours the level, the event,
 * the logger and each key, so the whole line is scanned; a line without ESC is returned unchanged,
 * without allocating. With `residue`, what collectors leave of colour codes (see {@link RESIDUE}) is
 * removed too.
 */
export function stripAnsi(line: string, residue = false): string {
  let out = line.indexOf('\u001b') === -1 ? line : line.replace(ANSI, '');
  if (residue && hasAnsiResidue(out)) out = out.replace(RESIDUE, '');
  return out;
}

/**
 * True when a line holds colour residue left by a collector (see {@link stripAnsi}): a `[`, then
 * digits or `;`, then `m`. A scan over the line's `[` (cheaper than a regex on every line).
 */
export function hasAnsiResidue(line: string): boolean {
  for (let at = line.indexOf('['); at !== -1; at = line.indexOf('[', at + 1)) {
    let i = at + 1;
    let c = line.charCodeAt(i);
    while ((c >= 48 && c <= 57) || c === 59) c = line.charCodeAt(++i);
    if (c === 109) return true;
  }
  return false;
}
