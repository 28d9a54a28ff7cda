// CSI sequences (colours, cursor moves) and OSC sequences (terminal titles, hyperlinks).
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/**
 * Remove ANSI escape sequences. Airflow's `colored_log_format` puts them mid-line (around the
 * timestamp, the file name, the level and the message) and structlog colours the level, so the whole
 * line is scanned; a line without ESC is returned unchanged, without allocating.
 */
export function stripAnsi(line: string): string {
  if (line.indexOf('\u001b') === -1) return line;
  return line.replace(ANSI, '');
}
