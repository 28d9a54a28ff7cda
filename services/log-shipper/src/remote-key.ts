/**
 * The S3 location Airflow's S3 remote logging uses for a task log, computed the way Airflow does:
 * `os.path.join(remote_base_log_folder, relative_path)` then `S3Hook.parse_s3_url` (netloc is the
 * bucket, the URL path without leading slashes is the key). Source: apache/airflow
 * providers/amazon/.../log/s3_task_handler.py (upload, read) and hooks/s3.py (parse_s3_url).
 */

/** A bucket and key, as Airflow's reader would list and read them. */
export interface TaskLogKey {
  bucket: string;
  key: string;
}

/** Python's `os.path.join(a, b)` for POSIX paths. */
export function posixJoin(base: string, rel: string): string {
  if (rel.startsWith('/')) return rel;
  if (base === '' || base.endsWith('/')) return base + rel;
  return `${base}/${rel}`;
}

/** `urlsplit(url)` netloc and path for an `s3://` URL; query and fragment are dropped as Python does. */
function splitS3Url(url: string): { netloc: string; path: string } {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)/.exec(url);
  if (!m) throw new Error(`expected an S3 URL like s3://bucket/prefix, got ${JSON.stringify(url)}`);
  return { netloc: m[1] ?? '', path: m[2] ?? '' };
}

/** The bucket and key Airflow writes and lists for a log at `relativePath` under `remoteBase`. */
export function airflowS3Key(remoteBase: string, relativePath: string): TaskLogKey {
  const { netloc, path } = splitS3Url(posixJoin(remoteBase, relativePath));
  if (!netloc) throw new Error(`remote_base_log_folder has no bucket: ${JSON.stringify(remoteBase)}`);
  return { bucket: netloc, key: path.replace(/^\/+/, '') };
}

/**
 * A key of Windsock's own under an attempt's prefix, for content that must not overwrite what is
 * already there (another host's part of a rescheduled attempt, or an older generation). Airflow's
 * reader lists every key starting with the attempt key and shows them all, so this stays visible.
 */
export function siblingKey(key: string, shipperId: string, n: number): string {
  return `${key}.windsock-${shipperId}-${n}`;
}
