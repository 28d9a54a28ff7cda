/** Where an S3 object lives. */
export interface S3Location {
  bucket: string;
  key: string;
}

/** The S3 object Airflow's S3 remote logging reads for a log path. */
export interface S3LogLocation extends S3Location {
  /** `os.path.join(remote_base_log_folder, relative_path)`, the URL Airflow builds before parsing it. */
  url: string;
}

/**
 * POSIX `os.path.join(base, relative)`, as Airflow's S3 handler joins `remote_base_log_folder` and the
 * relative log path: one `/` between them unless `base` is empty or already ends with `/`; a relative
 * part that starts with `/` replaces the base entirely (Python's rule, kept so the result matches).
 */
export function joinRemoteLogPath(base: string, relative: string): string {
  if (relative.startsWith('/')) return relative;
  if (base === '' || base.endsWith('/')) return base + relative;
  return `${base}/${relative}`;
}

/**
 * `S3Hook.parse_s3_url` (providers-amazon): `s3://`, `s3a://`, `s3n://` (any case) give the host as the
 * bucket and the path, leading slashes removed, as the key. Like `urlsplit`, the path ends at `?`
 * (`#` stays, since fragments are off). Also the virtual-hosted `https://bucket.s3.region.amazonaws.com/key`
 * and path-style `https://s3.region.amazonaws.com/bucket/key` forms. Throws on anything else.
 */
export function parseS3Url(url: string): S3Location {
  const sep = url.indexOf('//');
  const scheme = sep === -1 ? url : url.slice(0, sep);
  if (/^s3[na]?:/i.test(scheme)) {
    const rest = url.slice(sep + 2);
    let hostEnd = rest.length;
    for (const c of ['/', '?', '#']) {
      const i = rest.indexOf(c);
      if (i !== -1 && i < hostEnd) hostEnd = i;
    }
    const bucket = rest.slice(0, hostEnd);
    if (!bucket) throw new Error(`no bucket in ${JSON.stringify(url)}; expected s3://bucket-name/key-name`);
    let path = rest.slice(hostEnd);
    const q = path.indexOf('?');
    if (q !== -1) path = path.slice(0, q);
    return { bucket, key: path.replace(/^\/+/, '') };
  }
  if (scheme === 'https:' && sep !== -1) {
    const rest = url.slice(sep + 2);
    const labels = rest.split('.');
    if (labels[0] === 's3') {
      const parts = rest.split('/');
      if (parts.length >= 3) return { bucket: parts[1]!, key: parts.slice(2).join('/') };
    } else if (labels[1] === 's3') {
      const slash = rest.indexOf('/');
      return { bucket: labels[0]!, key: slash === -1 ? '' : rest.slice(slash + 1) };
    }
  }
  throw new Error(
    `cannot read ${JSON.stringify(url)} as an S3 URL; expected s3://bucket-name/key-name or https://bucket-name.s3.region-code.amazonaws.com/key-name`,
  );
}

/**
 * The bucket and key Airflow's S3 task handler reads (and uploads) for a relative log path:
 * `parse_s3_url(os.path.join(remote_base_log_folder, relative_path))`. The reader lists every key with
 * this prefix and concatenates them in key order, so `<key>.trigger.<id>.log` objects show up too.
 *
 * @example
 * s3LogLocation('s3://logs/airflow/', 'dag_id=a/run_id=r/task_id=t/attempt=1.log')
 * // { url: 's3://logs/airflow/dag_id=a/run_id=r/task_id=t/attempt=1.log', bucket: 'logs',
 * //   key: 'airflow/dag_id=a/run_id=r/task_id=t/attempt=1.log' }
 */
export function s3LogLocation(remoteBaseLogFolder: string, relativePath: string): S3LogLocation {
  const url = joinRemoteLogPath(remoteBaseLogFolder, relativePath);
  return { url, ...parseS3Url(url) };
}
