/**
 * What an object found at the attempt's key means for the local file we are shipping. Airflow's own
 * S3 upload is a read-modify-write append (`old + "\n" + new`, providers/amazon s3_task_handler.py
 * `S3RemoteLogIO.write`), so when both Windsock and Airflow write a key the object looks like
 * `P + "\n" + Q` with P our earlier upload and Q the file as Airflow read it.
 */
export type RemoteRelation =
  /** The object is a prefix of (or equal to) the local file: ours, continue from it. */
  | { kind: 'prefix' }
  /** Airflow appended the file onto our earlier upload: every byte is in the local file, rewrite it as the file. */
  | { kind: 'airflow-append'; ourPartBytes: number }
  /** Content we cannot explain (another host, an older generation): never overwrite it. */
  | { kind: 'foreign' };

const NL = 0x0a;

/** Classifies the remote object `remote` against the local file content `local`. */
export function relateRemote(remote: Buffer, local: Buffer): RemoteRelation {
  if (remote.length <= local.length && local.subarray(0, remote.length).equals(remote)) return { kind: 'prefix' };
  const common = commonPrefixLength(remote, local);
  // Try each split point P = remote[0, p) with remote[p] the separator Airflow inserted, longest first.
  for (let p = Math.min(common, remote.length - 1); p >= 1; p--) {
    if (remote[p] !== NL) continue;
    const q = remote.subarray(p + 1);
    if (q.length <= local.length && local.subarray(0, q.length).equals(q))
      return { kind: 'airflow-append', ourPartBytes: p };
  }
  return { kind: 'foreign' };
}

function commonPrefixLength(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  // Compare in 64 KiB blocks first; logs share long prefixes.
  const block = 65536;
  while (i + block <= n && a.subarray(i, i + block).equals(b.subarray(i, i + block))) i += block;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
