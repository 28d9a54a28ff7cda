import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';

const input = z
  .object({
    path: field(z.string().min(1), 'A file path or glob (`*`, `**`, `?`, `[..]`, `{a,b}`); `-` is stdin.', {
      example: '/opt/airflow/logs/scheduler/*.log',
    }),
    component: field(
      z.string().min(1).max(64).optional(),
      'The Component dimension of its lines (default: inferred from the path, e.g. scheduler, worker, task).',
      { example: 'scheduler' },
    ),
    queue: field(z.string().min(1).max(256).optional(), 'A Queue dimension for every line of this input.', {
      example: 'default',
    }),
  })
  .strict();

const rule = z
  .object({
    name: field(z.string(), 'Counter name.', { example: 'DagImportErrors' }),
    match: field(z.string().min(1), 'JavaScript regular expression tested on every physical line.', {
      example: 'Failed to import: (?<file>\\S+)',
    }),
    dimensions: field(z.record(z.string(), z.string()).optional(), 'Dimension name -> named group of match.', {
      example: '{"File":"file"}',
    }),
    value: field(z.string().optional(), 'Named group whose number is added instead of 1.', { example: 'bytes' }),
    component: field(z.string().optional(), 'Only lines of inputs with this component.', { example: 'scheduler' }),
    flags: field(
      z
        .string()
        .regex(/^[imsu]*$/, 'only the flags i, m, s, u')
        .optional(),
      'Regex flags.',
      {
        example: 'i',
      },
    ),
  })
  .strict();

/** The `logMetrics` config section. */
export const logMetricsSection = defineSection(
  'logMetrics',
  {
    inputs: field(z.array(input).default([]), 'Logs to follow (files named on the command line are added).', {
      example: '[{"path":"/opt/airflow/logs/scheduler/latest/*.log","component":"scheduler"}]',
    }),
    startPosition: field(
      z.enum(['checkpoint', 'beginning', 'end']).default('checkpoint'),
      'Where files present at start-up are read from: the checkpoint (new files from their start; on a first start from their end), the beginning or the end. Files appearing later are always read from their start.',
      { example: 'checkpoint' },
    ),
    pollIntervalMs: field(
      z.number().int().min(10).max(60_000).default(250),
      'How often followed files are checked for new lines.',
      {
        example: '250',
      },
    ),
    rescanIntervalMs: field(
      z.number().int().min(0).max(600_000).default(5000),
      'How often globs are expanded again to find new files.',
      { example: '5000' },
    ),
    idleFinishMs: field(
      z.number().int().min(10).max(600_000).default(1000),
      "A file quiet this long has its last record counted (a record's end is otherwise only known from the next header).",
      { example: '1000' },
    ),
    maxLineBytes: field(
      z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(1024 * 1024),
      'Longest line kept; the rest of a longer line is dropped and counted (the line itself still counts).',
      { example: '1048576' },
    ),
    dockerHost: field(
      z.string().min(1).optional(),
      'Docker engine of `docker://<container>` inputs: a socket path or DOCKER_HOST-style URL (default: DOCKER_HOST, then /var/run/docker.sock).',
      { example: 'unix:///var/run/docker.sock', fallbackEnv: ['DOCKER_HOST'] },
    ),
    onceThreads: field(
      z.number().int().min(0).max(16).default(1),
      '`--once`: threads that parse files (1: the main thread, reading files as it finds them; 0: one per core, at most 4). More threads list every file first and give each worker its own heap and TypeScript loader: on the bench corpus 2 threads peak at ~290 MB RSS against ~140 MB for 1.',
      { example: '2' },
    ),
    rules: field(z.array(rule).default([]), 'User rules: regex with named groups -> counter + dimensions.', {
      example: '[{"name":"DagImportErrors","match":"Failed to import: (?<file>\\\\S+)","dimensions":{"File":"file"}}]',
    }),
    perDag: z
      .object({
        enabled: field(z.boolean().default(false), 'Also publish each counter per DAG (a DAG dimension).', {
          example: 'true',
        }),
        maxValues: field(
          z.number().int().min(1).max(10_000).default(50),
          'Distinct DAGs per flush; later ones are folded into DAG=__other__ and counted in DagDimensionFolded.',
          { example: '50' },
        ),
      })
      .strict()
      .prefault({}),
  },
  { uses: [awsConfigSection, airflowConfigSection, metricsConfigSection] },
);

/** The parsed `logMetrics` section. */
export type LogMetricsConfig = z.output<typeof logMetricsSection.schema>;
