import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';
import { type WorkerPool, workerPoolDefaultsSection, workerPoolsSection } from '@windsock/scaling';

/**
 * A worker pool as DesiredWorkers needs it: the top-level `workerPools` list (shared with the
 * scaler, in @windsock/scaling), with concurrency resolved.
 */
export type WorkerPoolConfig = Pick<WorkerPool, 'name' | 'queues' | 'concurrency' | 'min' | 'max'>;

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
      z
        .unknown()
        .optional()
        .refine((v) => v === undefined, {
          message:
            'queueDepth.workerPools moved to the top-level key workerPools (the same list, shared with the scaler; WINDSOCK_WORKER_POOLS); move it there',
        }),
      'Moved: use the top-level workerPools. Any value here is rejected with a message naming the new key.',
      { example: '(unset)' },
    ),
  },
  {
    uses: [awsConfigSection, airflowConfigSection, metricsConfigSection, workerPoolDefaultsSection, workerPoolsSection],
  },
);

/** The effective `queueDepth` section. */
export type QueueDepthConfig = z.output<typeof queueDepthSection.schema>;
