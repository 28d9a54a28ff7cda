/**
 * Airflow's S3 remote logging, reproduced in TypeScript for tests (apache/airflow
 * providers/amazon/.../log/s3_task_handler.py, S3RemoteLogIO):
 * - read: list every key starting with the attempt key, sort, read each, concatenate;
 * - write: read-modify-write append (`old + "\n" + new` when an old object exists), replace=True.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** `S3RemoteLogIO.read`: the keys found under the prefix (sorted) and their contents. */
export async function airflowRead(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<{ keys: string[]; logs: string[] }> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.NextContinuationToken;
  } while (token);
  keys.sort();
  const logs: string[] = [];
  for (const key of keys) {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    logs.push(await o.Body!.transformToString('utf-8'));
  }
  return { keys, logs };
}

/** What the 2.x UI shows for one attempt's remote logs without interleaving: the objects joined. */
export async function airflowReadText(s3: S3Client, bucket: string, prefix: string): Promise<string> {
  return (await airflowRead(s3, bucket, prefix)).logs.join('');
}

/** `S3RemoteLogIO.write(log, key, append=True)`: read-modify-write append. */
export async function airflowAppend(s3: S3Client, bucket: string, key: string, log: string): Promise<void> {
  let body = log;
  const exists = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );
  if (exists) {
    const old = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString(
      'utf-8',
    );
    body = old ? `${old}\n${log}` : log;
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}
