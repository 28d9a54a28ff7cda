/**
 * Virtual time is an integer count of microseconds since the Unix epoch (exact, so the same seed
 * always prints the same digits). These helpers print it the ways Airflow, Celery and Python do.
 */

/** Microseconds per second. */
export const US = 1_000_000;

function parts(us: number) {
  const ms = Math.floor(us / 1000);
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`,
    time: `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`,
    compact:
      `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}` +
      `T${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`,
    millis: String(d.getUTCMilliseconds()).padStart(3, '0'),
    micros: String(((us % US) + US) % US).padStart(6, '0'),
  };
}

/** Airflow 2.x `TimezoneAware` asctime: `2025-01-06T00:00:01.123+0000`. */
export function airflowAsctime(us: number): string {
  const p = parts(us);
  return `${p.date}T${p.time}.${p.millis}+0000`;
}

/** Celery's default asctime: `2025-01-06 00:00:01,123`. */
export function celeryAsctime(us: number): string {
  const p = parts(us);
  return `${p.date} ${p.time},${p.millis}`;
}

/** structlog / Airflow 3 ISO time with microseconds and `Z`: `2025-01-06T00:00:01.123456Z`. */
export function isoMicrosZ(us: number): string {
  const p = parts(us);
  return `${p.date}T${p.time}.${p.micros}Z`;
}

/** Python `str(datetime)` of an aware UTC datetime: `2025-01-06 00:00:01.123456+00:00` (no fraction when 0). */
export function pyDatetimeStr(us: number): string {
  const p = parts(us);
  return us % US === 0 ? `${p.date} ${p.time}+00:00` : `${p.date} ${p.time}.${p.micros}+00:00`;
}

/** Python `datetime.isoformat()` of an aware UTC datetime: `2025-01-06T00:00:01.123456+00:00`. */
export function pyIsoformat(us: number): string {
  const p = parts(us);
  return us % US === 0 ? `${p.date}T${p.time}+00:00` : `${p.date}T${p.time}.${p.micros}+00:00`;
}

/** `%Y%m%dT%H%M%S`, the date format of Airflow's `Marking task as ...` lines. */
export function compactDate(us: number): string {
  return parts(us).compact;
}

/** A PostgreSQL timestamptz literal with microseconds. */
export function pgTimestamp(us: number): string {
  return isoMicrosZ(us);
}

/** Python `repr(float)`: JavaScript's shortest round-trip digits, with `.0` on integral values. */
export function pyFloat(x: number): string {
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** Parses an ISO 8601 instant into virtual microseconds; throws a clear error on a bad value. */
export function parseInstant(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`${what}: '${iso}' is not an ISO 8601 date-time (e.g. 2025-01-06T00:00:00Z)`);
  return ms * 1000;
}
