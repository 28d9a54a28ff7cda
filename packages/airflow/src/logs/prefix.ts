const MAX_PREFIX = 80;

/**
 * Find a process-manager prefix: overmind/foreman `scheduler | `, honcho `17:31:54 scheduler.1 | `,
 * docker compose `airflow-worker-1  | `. Returns the index where the body starts, or 0 when the line
 * has none. The prefix must start with a letter or digit, hold only name characters and spaces, and end
 * with ` | ` within the first 80 characters; callers still check that the body makes sense, since
 * `a | b` in free text has the same shape.
 */
export function prefixEnd(line: string): number {
  const bar = line.indexOf('| ');
  if (bar < 2 || bar > MAX_PREFIX || line.charCodeAt(bar - 1) !== 32) return 0;
  const first = line.charCodeAt(0);
  if (!isNameChar(first) || first === 32) return 0;
  for (let i = 1; i < bar; i++) if (!isNameChar(line.charCodeAt(i))) return 0;
  return bar + 2;
}

const CLOCK = /^\d\d:\d\d:\d\d /;

/**
 * The prefix's name with its padding and any honcho/foreman clock removed: `airflow-worker-1  | ` ->
 * `airflow-worker-1`, `10:00:21 scheduler.1 | ` -> `scheduler.1`, so that lines of one process printed
 * in different seconds still share a record.
 */
export function prefixName(line: string, end: number): string {
  const name = line.slice(0, end - 2).trimEnd();
  return CLOCK.test(name) ? name.slice(9) : name;
}

function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 32 ||
    c === 45 || // -
    c === 46 || // .
    c === 95 || // _
    c === 58 || // :
    c === 64 || // @
    c === 47 // /
  );
}
