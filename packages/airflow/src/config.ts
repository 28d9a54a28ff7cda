/**
 * The `airflow` config section: where the Airflow cluster's parts are. Defaults and fallbacks come
 * from Airflow's own settings (AIRFLOW__SECTION__KEY variables). Imports no driver: the CLI loads
 * it for every command, `config check` loads pg only when it runs.
 */
import { ConfigError, defineSection, field, type SectionConfig, z } from '@windsock/core';

/** SQLAlchemy URLs name a driver (`postgresql+psycopg2://`); node-postgres wants plain `postgresql://`. */
export function normalizeDatabaseUrl(url: string): string {
  return url.replace(/^postgres(ql)?\+[a-z0-9_]+:\/\//i, 'postgresql://').replace(/^postgres:\/\//i, 'postgresql://');
}

/** Why a URL the drivers would refuse is wrong, in words a user can act on; undefined when it parses. */
export function urlProblem(url: string): string | undefined {
  try {
    new URL(url);
    return undefined;
  } catch {
    const port = /^[^/]*\/\/(?:.*@)?(?:\[[^\]]*\]|[^/:?#@]*):(\d+)(?:[/?#]|$)/.exec(url)?.[1];
    if (port !== undefined && Number(port) > 65535) return `port ${port} is out of range (1-65535)`;
    return 'not a valid URL (characters like @ : / # in the user or password must be percent-encoded: %40 %3A %2F %23)';
  }
}

const parsableUrl = (v: string, ctx: z.core.$RefinementCtx<string>) => {
  const problem = urlProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: v });
};

const pgUrl = z
  .string()
  .overwrite(normalizeDatabaseUrl)
  .regex(/^postgres(ql)?:\/\//, 'expected a PostgreSQL URL starting with postgresql://')
  .superRefine(parsableUrl)
  .meta({ example: 'postgresql://airflow:PASSWORD@metadb:5432/airflow' });

const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, 'expected a Redis URL starting with redis:// or rediss://')
  .superRefine(parsableUrl)
  .meta({ example: 'redis://:PASSWORD@broker:6379/0' });

/** The `airflow` section: every service that reads the metadb, the broker or the task logs uses it. */
export const airflowConfigSection = defineSection(
  'airflow',
  {
    version: field(
      z.enum(['auto', '2', '3']).default('auto'),
      'Airflow major version; auto detects it from the metadb schema.',
      { example: '3' },
    ),
    databaseUrl: field(
      pgUrl.optional(),
      'Metadata database (PostgreSQL). SQLAlchemy forms (postgresql+psycopg2://) are accepted.',
      {
        secret: true,
        example: 'postgresql://airflow:PASSWORD@metadb:5432/airflow',
        fallbackEnv: ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', 'AIRFLOW__CORE__SQL_ALCHEMY_CONN'],
      },
    ),
    brokerUrl: field(redisUrl.optional(), 'Celery broker (Redis).', {
      secret: true,
      example: 'redis://:PASSWORD@broker:6379/0',
      fallbackEnv: ['AIRFLOW__CELERY__BROKER_URL'],
    }),
    baseLogFolder: field(z.string().min(1).default('/opt/airflow/logs'), "Airflow's base_log_folder (task logs).", {
      example: '/opt/airflow/logs',
      fallbackEnv: ['AIRFLOW__LOGGING__BASE_LOG_FOLDER'],
    }),
    remoteBaseLogFolder: field(
      z
        .string()
        .regex(/^s3:\/\/[^/]+/, 'expected an S3 URL like s3://bucket/prefix')
        .optional(),
      "Airflow's remote_base_log_folder (S3), where the UI reads task logs.",
      { example: 's3://my-airflow-logs/logs', fallbackEnv: ['AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER'] },
    ),
    logFilenameTemplate: field(
      z.string().min(1).optional(),
      "Airflow's log_filename_template (default: the version's).",
      {
        example: 'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/attempt={{ try_number }}.log',
        fallbackEnv: ['AIRFLOW__LOGGING__LOG_FILENAME_TEMPLATE'],
      },
    ),
  },
  {
    async check(config) {
      const { databaseUrl } = (config as { airflow: AirflowConfig }).airflow;
      if (!databaseUrl) {
        throw new ConfigError(
          'airflow.databaseUrl is not set: give --database-url, WINDSOCK_AIRFLOW__DATABASE_URL or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
        );
      }
      const { checkMetadb } = await import('./metadb/check.ts');
      const { serverVersion } = await checkMetadb(databaseUrl);
      return `metadb answers (PostgreSQL ${serverVersion})`;
    },
  },
);

/** The effective `airflow` section. */
export type AirflowConfig = SectionConfig<typeof airflowConfigSection>;

declare module '@windsock/core' {
  interface RegisteredConfig {
    airflow: AirflowConfig;
  }
}
