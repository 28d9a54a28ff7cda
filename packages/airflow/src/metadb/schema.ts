import { runScript, type ScriptClient } from './client.ts';
import { AIRFLOW_2_10_DDL } from './ddl-2.10.ts';
import { AIRFLOW_3_DDL } from './ddl-3.ts';

/** The Airflow metadb layouts Windsock knows: 2.10 (2.7–2.10 read the same way) and 3.x. */
export type AirflowSchemaVersion = '2.10' | '3';

/** Every schema version, for tests and CLIs that iterate over them. */
export const AIRFLOW_SCHEMA_VERSIONS: readonly AirflowSchemaVersion[] = ['2.10', '3'];

/** Airflow's `[core] default_pool_task_slot_count` default; `db migrate` creates `default_pool` with it. */
export const DEFAULT_POOL_SLOTS = 128;

/**
 * The `log_template` row 1 that `db migrate` seeds so pre-2.3 task logs stay readable (`utils/db.py`
 * `synchronize_log_template`; 3.x renamed `execution_date` to `logical_date` in its Elasticsearch id).
 */
export const PRE_2_3_LOG_TEMPLATE: Readonly<
  Record<AirflowSchemaVersion, { filename: string; elasticsearchId: string }>
> = {
  '2.10': {
    filename: '{{ ti.dag_id }}/{{ ti.task_id }}/{{ ts }}/{{ try_number }}.log',
    elasticsearchId: '{dag_id}-{task_id}-{execution_date}-{try_number}',
  },
  '3': {
    filename: '{{ ti.dag_id }}/{{ ti.task_id }}/{{ ts }}/{{ try_number }}.log',
    elasticsearchId: '{dag_id}-{task_id}-{logical_date}-{try_number}',
  },
};

/** The default `[logging] log_filename_template` per version (the `log_template` row 2 of a fresh metadb). */
export const DEFAULT_LOG_FILENAME_TEMPLATE: Readonly<Record<AirflowSchemaVersion, string>> = {
  '2.10':
    'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/' +
    '{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}attempt={{ try_number }}.log',
  '3':
    'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/' +
    '{% if ti.map_index >= 0 %}map_index={{ ti.map_index }}/{% endif %}' +
    'attempt={{ try_number|default(ti.try_number) }}.log',
};

/** The default `[elasticsearch] log_id_template` (stored beside the filename template in `log_template`). */
export const DEFAULT_ELASTICSEARCH_LOG_ID = '{dag_id}-{task_id}-{run_id}-{map_index}-{try_number}';

function assertVersion(version: string): asserts version is AirflowSchemaVersion {
  if (version !== '2.10' && version !== '3') {
    throw new Error(`unknown Airflow schema version '${version}': expected '2.10' or '3'`);
  }
}

/**
 * The DDL of the tables Windsock reads, as `airflow db migrate` creates them for that version.
 *
 * @example await client.query(airflowSchemaSql('3'))
 */
export function airflowSchemaSql(version: AirflowSchemaVersion): string {
  assertVersion(version);
  return version === '2.10' ? AIRFLOW_2_10_DDL : AIRFLOW_3_DDL;
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The rows `airflow db migrate` inserts into a fresh metadb: `default_pool` (128 slots, deferred tasks
 * not counted) and the two `log_template` rows (the pre-2.3 template, then the current default).
 */
export function airflowDefaultRowsSql(version: AirflowSchemaVersion): string {
  assertVersion(version);
  return `
INSERT INTO slot_pool (pool, slots, description, include_deferred)
  VALUES ('default_pool', ${DEFAULT_POOL_SLOTS}, 'Default pool', false);
INSERT INTO log_template (filename, elasticsearch_id, created_at)
  VALUES (${sqlString(PRE_2_3_LOG_TEMPLATE[version].filename)}, ${sqlString(PRE_2_3_LOG_TEMPLATE[version].elasticsearchId)}, now());
INSERT INTO log_template (filename, elasticsearch_id, created_at)
  VALUES (${sqlString(DEFAULT_LOG_FILENAME_TEMPLATE[version])}, ${sqlString(DEFAULT_ELASTICSEARCH_LOG_ID)}, now());
`;
}

/** Options of {@link loadAirflowSchema}. */
export interface LoadAirflowSchemaOptions {
  /** Insert the rows `db migrate` creates (default pool, log templates). Default true. */
  defaultRows?: boolean;
}

/**
 * Creates Airflow's tables (and by default its seed rows) in one transaction, on `pg` or PGlite.
 * For tests and the simulator only: Windsock never writes to a user's metadb.
 *
 * @example await loadAirflowSchema(new pg.Client(url), '2.10')
 */
export async function loadAirflowSchema(
  client: ScriptClient,
  version: AirflowSchemaVersion,
  options: LoadAirflowSchemaOptions = {},
): Promise<void> {
  const rows = options.defaultRows === false ? '' : airflowDefaultRowsSql(version);
  await runScript(client, `BEGIN;\n${airflowSchemaSql(version)}\n${rows}\nCOMMIT;`);
}
