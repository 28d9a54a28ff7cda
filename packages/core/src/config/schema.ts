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
  /**
   * Other programs' environment variables that mean the same thing (e.g. the settings of the
   * system Windsock watches): read below the YAML file and `WINDSOCK_*`, first match wins.
   */
  fallbackEnv?: string[];
}

/** Attach Windsock's field metadata (and a description) to a schema. */
export function field<T extends z.ZodType>(schema: T, description: string, meta: FieldMeta = {}): T {
  return schema.meta({ description, ...meta }) as T;
}

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

/** What every command shares, before the registered sections. */
const headShape = {
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
};

/** What every command shares, after the sections that several commands use. */
const tailShape = {
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

/**
 * A config section: a top-level key and its schema. A service registers its own section with its
 * command; a package that several commands use (the system watched, the cloud, metric publishing)
 * defines a section the service sections list in `uses`, so the package owns its keys and checks.
 */
export interface ConfigSection {
  /** Top-level key in the YAML file, camelCase (e.g. `queueDepth`). */
  key: string;
  /** Usually an object of fields (see {@link defineSection}); any schema for a top-level list or value. */
  schema: z.ZodType;
  /** Sections this one needs besides the core's (each registered once, before the core's `http`). */
  uses?: readonly ConfigSection[];
  /**
   * `windsock config check`: verify that what this section points at answers; resolves with one
   * line for the user (e.g. "metadb answers (PostgreSQL 16.4)"), throws a UserError otherwise.
   * `config` is the whole effective config.
   */
  check?(config: Record<string, unknown>): Promise<string>;
}

/** Every section once, the used ones (depth first) before the sections that use them. */
export function flattenSections(sections: readonly ConfigSection[]): { used: ConfigSection[]; own: ConfigSection[] } {
  const used: ConfigSection[] = [];
  const own: ConfigSection[] = [];
  const seen = new Map<string, ConfigSection>();
  const add = (s: ConfigSection, into: ConfigSection[]) => {
    const prev = seen.get(s.key);
    if (prev) {
      if (prev !== s) throw new Error(`config section "${s.key}" registered twice`);
      return;
    }
    for (const u of s.uses ?? []) add(u, used);
    seen.set(s.key, s);
    into.push(s);
  };
  for (const s of sections) add(s, own);
  return { used, own };
}

/** Build the one schema from the core's keys and the registered sections. */
export function buildSchema(sections: readonly ConfigSection[]) {
  const { used, own } = flattenSections(sections);
  const shape: Record<string, z.ZodType> = { ...headShape };
  const put = (s: ConfigSection) => {
    if (shape[s.key] || s.key in tailShape) throw new Error(`config section "${s.key}" registered twice`);
    shape[s.key] = s.schema instanceof z.ZodObject ? s.schema.prefault({}) : s.schema;
  };
  used.forEach(put);
  Object.assign(shape, tailShape);
  own.forEach(put);
  return z.object(shape).strict();
}

/**
 * The keys of the registered sections, as packages declare them by module augmentation:
 * `declare module '@windsock/core' { interface RegisteredConfig { metrics: MetricsConfig } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the packages that define sections
export interface RegisteredConfig {}

/** The keys every command has (whatever sections are registered). */
export type CoreConfig = z.output<ReturnType<typeof coreSchema>>;
function coreSchema() {
  return z.object({ ...headShape, ...tailShape }).strict();
}

/** The config a command sees: the core's keys and the shared sections' (see {@link RegisteredConfig}). */
export type BaseConfig = CoreConfig & RegisteredConfig;

/** The effective value of a section, e.g. `SectionConfig<typeof queueDepthSection>`. */
export type SectionConfig<S extends { schema: z.ZodType }> = z.output<S['schema']>;

/** Define a config section (strict: unknown keys are errors naming the key). */
export function defineSection<T extends z.ZodRawShape>(
  key: string,
  shape: T,
  opts: Pick<ConfigSection, 'uses' | 'check'> = {},
): ConfigSection & { schema: z.ZodObject<T> } {
  return { key, schema: z.object(shape).strict(), ...opts };
}
