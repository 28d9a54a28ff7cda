import type { MetadbClient } from './client.ts';
import type { AirflowSchemaVersion } from './schema.ts';

/** SQL of {@link detectAirflowSchemaVersion}: the columns that tell 2.x and 3.x task_instance apart. */
export const DETECT_SCHEMA_VERSION_SQL = `
SELECT column_name
FROM information_schema.columns
WHERE table_name = 'task_instance'
  AND table_schema = ANY(current_schemas(false))
  AND column_name IN ('id', 'job_id', 'last_heartbeat_at')`;

/** Thrown when the database has no Airflow `task_instance` table in its search_path. */
export class NotAnAirflowMetadbError extends Error {
  override name = 'NotAnAirflowMetadbError';
}

/**
 * Which Airflow schema a metadb has: 3.x gave task_instance a uuid `id` (and dropped `job_id`), 2.x
 * has `job_id` and no `id`. Reads information_schema only, so a read-only role is enough.
 *
 * @example const version = await detectAirflowSchemaVersion(pool) // '2.10' | '3'
 */
export async function detectAirflowSchemaVersion(client: MetadbClient): Promise<AirflowSchemaVersion> {
  const { rows } = await client.query<{ column_name: string }>(DETECT_SCHEMA_VERSION_SQL);
  const columns = new Set(rows.map((r) => r.column_name));
  if (columns.has('id')) return '3';
  if (columns.has('job_id')) return '2.10';
  throw new NotAnAirflowMetadbError(
    'no Airflow task_instance table found (looked for task_instance.id / task_instance.job_id in the ' +
      'search_path): check the database URL, the schema ([database] sql_alchemy_schema), and that the role may read it',
  );
}
