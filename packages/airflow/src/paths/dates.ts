const DATE_TEXT =
  /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Python's `datetime.isoformat()` of a UTC instant, as Airflow renders `ts` (`logical_date.isoformat()`):
 * `2024-01-01T00:00:00+00:00`, with `.ffffff` only when the microseconds are not zero. Accepts a Date
 * (millisecond precision) or the text PostgreSQL or Python print (`2024-01-01 00:00:00.123456+00`),
 * which keeps the microseconds a Date would lose; text without a zone is read as UTC.
 */
export function pythonIsoformat(value: Date | string): string {
  let epochSeconds: number;
  let micros: number;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new Error('cannot format an invalid Date as a log path date');
    epochSeconds = Math.floor(ms / 1000);
    micros = (ms - epochSeconds * 1000) * 1000;
  } else {
    const m = DATE_TEXT.exec(value.trim());
    if (!m) throw new Error(`cannot read ${JSON.stringify(value)} as a date (expected ISO 8601 or PostgreSQL text)`);
    const base = Date.UTC(
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4] ?? 0),
      Number(m[5] ?? 0),
      Number(m[6] ?? 0),
    );
    let offsetMinutes = 0;
    const zone = m[8];
    if (zone && zone.toUpperCase() !== 'Z') {
      const digits = zone.slice(1).replace(':', '');
      offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
      if (zone[0] === '-') offsetMinutes = -offsetMinutes;
    }
    epochSeconds = base / 1000 - offsetMinutes * 60;
    micros = m[7] ? Math.floor(Number(m[7].padEnd(9, '0')) / 1000) : 0;
  }
  const d = new Date(epochSeconds * 1000);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${date}T${time}${micros ? `.${pad(micros, 6)}` : ''}+00:00`;
}
