/**
 * Keys of Windsock's own beside Airflow's. The key Airflow itself reads for a log comes from
 * `s3LogLocation` in `@windsock/airflow` (Airflow's `os.path.join` + `S3Hook.parse_s3_url`).
 */

/**
 * A key of Windsock's own under an attempt's prefix, for content that must not overwrite what is
 * already there (another host's part of a rescheduled attempt, or an older generation). Airflow's
 * reader lists every key starting with the attempt key and shows them all, so this stays visible.
 */
export function siblingKey(key: string, shipperId: string, n: number): string {
  return `${key}.windsock-${shipperId}-${n}`;
}
