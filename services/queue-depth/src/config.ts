import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';

const workerPool = z
  .object({
    name: field(z.string().min(1).max(255), 'Worker pool name: the WorkerPool dimension (e.g. the ECS service).', {
      example: 'workers-default',
    }),
    queues: field(z.array(z.string().min(1)).min(1), 'Celery queues this pool consumes (`airflow celery worker -q`).', {
      example: '["default"]',
    }),
    concurrency: field(
      z.number().int().positive(),
      "Tasks one worker runs at once ([celery] worker_concurrency, Airflow's default 16).",
      { example: '16' },
    ),
    min: field(z.number().int().min(0).default(0), 'Fewest workers DesiredWorkers asks for.', { example: '1' }),
    max: field(z.number().int().min(0), 'Most workers DesiredWorkers asks for.', { example: '10' }),
  })
  .strict()
  .refine((p) => p.min <= p.max, { message: 'min must not exceed max' });

/** A worker pool as configured: which queues it serves and how far it may scale. */
export type WorkerPoolConfig = z.output<typeof workerPool>;

/** The `queueDepth` config section. */
export const queueDepthSection = defineSection(
  'queueDepth',
  {
    queues: field(
      z.array(z.string().min(1)).default(['default']),
      'Celery queues that always get a value (explicit zeros when idle); queues seen in the metadb are added.',
      { example: '["default","gpu"]' },
    ),
    intervalSeconds: field(z.number().positive().max(3600).default(15), 'Seconds between polls (never overlapping).', {
      example: '15',
    }),
    statementTimeoutMs: field(
      z.number().int().min(100).max(600_000).default(5000),
      'statement_timeout of the poll transaction: a slow metadb turns into MetadbUp = 0, not a pile-up.',
      { example: '5000' },
    ),
    brokerTimeoutMs: field(
      z.number().int().min(100).max(600_000).default(3000),
      'How long the broker (Redis) read may take before BrokerUp = 0.',
      { example: '3000' },
    ),
    brokerKeyPrefix: field(
      z.string().default(''),
      "kombu's global_keyprefix transport option, when the Celery broker uses one.",
      { example: 'airflow:', fallbackEnv: ['AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX'] },
    ),
    maxQueues: field(
      z.number().int().positive().max(10_000).default(100),
      'Cardinality guard: at most this many queues are remembered for explicit zeros (active queues are always published).',
      { example: '100' },
    ),
    workerPools: field(
      z.array(workerPool).default([]),
      'Worker pools for DesiredWorkers = clamp(ceil((queued + running) / concurrency), min, max).',
      { example: '[{"name":"workers-default","queues":["default"],"concurrency":16,"min":1,"max":10}]' },
    ),
  },
  { uses: [awsConfigSection, airflowConfigSection, metricsConfigSection] },
);

/** The effective `queueDepth` section. */
export type QueueDepthConfig = z.output<typeof queueDepthSection.schema>;
