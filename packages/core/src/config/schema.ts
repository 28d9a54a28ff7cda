import { z } from 'zod';

/**
 * Metadata a config field may carry: used for env fallbacks, redaction, examples and the
 * generated README reference.
 */
export interface FieldMeta {
  /** Shown in `config print` as `***` and registered with the logger's scrubber. */
  secret?: boolean;
  /** A value that would be accepted; printed in errors and the reference. */
  example?: string;
  /** Airflow's own environment variables that mean the same thing, first match wins. */
  airflowEnv?: string[];
}

/** Attach Windsock's field metadata (and a description) to a schema. */
export function field<T extends z.ZodType>(schema: T, description: string, meta: FieldMeta = {}): T {
  return schema.meta({ description, ...meta }) as T;
}

const pgUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'expected a PostgreSQL URL starting with postgresql://')
  .meta({ example: 'postgresql://airflow:PASSWORD@metadb:5432/airflow' });

const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, 'expected a Redis URL starting with redis:// or rediss://')
  .meta({ example: 'redis://:PASSWORD@broker:6379/0' });

/** Where the Airflow cluster's parts are; defaults come from Airflow's own settings. */
export const airflowSection = z
  .object({
    version: field(
      z.enum(['auto', '2', '3']).default('auto'),
      'Airflow major version; auto detects it from the metadb schema.',
      {
        example: '3',
      },
    ),
    databaseUrl: field(
      pgUrl.optional(),
      'Metadata database (PostgreSQL). SQLAlchemy forms (postgresql+psycopg2://) are accepted.',
      {
        secret: true,
        example: 'postgresql://airflow:PASSWORD@metadb:5432/airflow',
        airflowEnv: ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', 'AIRFLOW__CORE__SQL_ALCHEMY_CONN'],
      },
    ),
    brokerUrl: field(redisUrl.optional(), 'Celery broker (Redis).', {
      secret: true,
      example: 'redis://:PASSWORD@broker:6379/0',
      airflowEnv: ['AIRFLOW__CELERY__BROKER_URL'],
    }),
    baseLogFolder: field(z.string().min(1).default('/opt/airflow/logs'), "Airflow's base_log_folder (task logs).", {
      example: '/opt/airflow/logs',
      airflowEnv: ['AIRFLOW__LOGGING__BASE_LOG_FOLDER'],
    }),
    remoteBaseLogFolder: field(
      z
        .string()
        .regex(/^s3:\/\/[^/]+/, 'expected an S3 URL like s3://bucket/prefix')
        .optional(),
      "Airflow's remote_base_log_folder (S3), where the UI reads task logs.",
      { example: 's3://my-airflow-logs/logs', airflowEnv: ['AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER'] },
    ),
    logFilenameTemplate: field(
      z.string().min(1).optional(),
      "Airflow's log_filename_template (default: the version's).",
      {
        example: 'dag_id={{ ti.dag_id }}/run_id={{ ti.run_id }}/task_id={{ ti.task_id }}/attempt={{ try_number }}.log',
        airflowEnv: ['AIRFLOW__LOGGING__LOG_FILENAME_TEMPLATE'],
      },
    ),
  })
  .strict();

/** Metric publishing shared by every service. */
export const metricsSection = z
  .object({
    namespace: field(z.string().min(1).max(255).default('Windsock'), 'CloudWatch namespace (and EMF namespace).', {
      example: 'Windsock',
    }),
    flushIntervalSeconds: field(z.number().positive().max(3600).default(60), 'How often aggregated metrics are sent.', {
      example: '60',
    }),
    sinks: field(
      z.array(z.enum(['cloudwatch', 'emf', 'prometheus'])).default(['prometheus']),
      'Where metrics go: any of cloudwatch, emf, prometheus.',
      { example: '["cloudwatch","prometheus"]' },
    ),
    maxBufferedDatums: field(
      z.number().int().positive().default(100_000),
      'CloudWatch sink: datums kept while CloudWatch is unreachable; beyond it the oldest are dropped and counted.',
      { example: '100000' },
    ),
    emfPath: field(z.string().default('-'), 'EMF sink output: "-" for stdout or a file path.', {
      example: '/var/log/windsock/emf.log',
    }),
  })
  .strict();

/** The per-process HTTP server. */
export const httpSection = z
  .object({
    enabled: field(z.boolean().default(true), 'Serve /healthz, /readyz, /metrics and /status.', { example: 'true' }),
    host: field(z.string().min(1).default('127.0.0.1'), 'Listen address; loopback unless you mean to expose it.', {
      example: '0.0.0.0',
    }),
    port: field(z.number().int().min(0).max(65535).default(9464), 'Listen port (0 picks a free one).', {
      example: '9464',
    }),
    token: field(
      z.string().min(16).optional(),
      'Bearer token required by mutating endpoints (at least 16 characters).',
      {
        secret: true,
        example: 'a-long-random-string',
      },
    ),
  })
  .strict();

/** Everything every service shares; services add their own sections. */
export const baseShape = {
  cluster: field(z.string().min(1).max(255).default('airflow'), 'The Cluster dimension on every metric.', {
    example: 'prod-eu',
  }),
  logLevel: field(
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    'Log level.',
    {
      example: 'debug',
    },
  ),
  stateDir: field(
    z.string().min(1).default('.windsock'),
    'Directory for checkpoints and journals (mount a volume on ECS).',
    {
      example: '/var/lib/windsock',
    },
  ),
  shutdownGraceSeconds: field(
    z.number().positive().max(600).default(25),
    "On SIGTERM, finish and flush within this many seconds (ECS's default stopTimeout is 30 s).",
    { example: '25' },
  ),
  aws: z
    .object({
      region: field(z.string().min(1).optional(), 'AWS region (default: the SDK chain, AWS_REGION).', {
        example: 'eu-west-1',
      }),
      endpoint: field(z.string().url().optional(), 'Endpoint override for every AWS client (tests, VPC endpoints).', {
        example: 'http://127.0.0.1:5000',
      }),
    })
    .strict()
    .prefault({}),
  airflow: airflowSection.prefault({}),
  metrics: metricsSection.prefault({}),
  http: httpSection.prefault({}),
  leader: z
    .object({
      enabled: field(
        z.boolean().default(true),
        'Cluster-wide singletons hold a PostgreSQL advisory lock before acting.',
        {
          example: 'true',
        },
      ),
      lockId: field(
        z.number().int().default(0x57534b31),
        'Advisory lock key (one per singleton kind is derived from it).',
        {
          example: '1465076529',
        },
      ),
      intervalSeconds: field(
        z.number().positive().max(300).default(5),
        'How often a follower retries and a leader checks its lock.',
        {
          example: '5',
        },
      ),
    })
    .strict()
    .prefault({}),
};

/** A service's own config section, registered with its command. */
export interface ConfigSection {
  /** Top-level key in the YAML file, camelCase (e.g. `queueDepth`). */
  key: string;
  schema: z.ZodObject;
}

/** Build the one schema from the base and the services' sections. */
export function buildSchema(sections: readonly ConfigSection[]) {
  const shape: Record<string, z.ZodType> = { ...baseShape };
  for (const s of sections) {
    if (shape[s.key]) throw new Error(`config section "${s.key}" registered twice`);
    shape[s.key] = s.schema.prefault({});
  }
  return z.object(shape).strict();
}

/** The base config every service sees. */
export type BaseConfig = z.output<ReturnType<typeof baseSchema>>;
function baseSchema() {
  return z.object(baseShape).strict();
}

/** Define a service's config section (strict: unknown keys are errors naming the key). */
export function defineSection<T extends z.ZodRawShape>(
  key: string,
  shape: T,
): ConfigSection & { schema: z.ZodObject<T> } {
  return { key, schema: z.object(shape).strict() };
}
