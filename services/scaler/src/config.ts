/** The scaler's config sections: `scaler` (the coordinator) and `workerAgent` (beside each worker). */
import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, type SectionConfig, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';
import { workerPoolDefaultsSection, workerPoolsSection } from '@windsock/scaling';

const keyPrefix = () =>
  field(z.string().default(''), "kombu's global_keyprefix transport option, when the Celery broker uses one.", {
    example: 'airflow:',
    fallbackEnv: ['AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX'],
  });

/** The `scaler` section (the coordinator). */
export const scalerSection = defineSection(
  'scaler',
  {
    intervalSeconds: field(z.number().positive().max(3600).default(10), 'Seconds between decisions.', {
      example: '10',
    }),
    grantTtlSeconds: field(
      z.number().positive().max(3600).default(60),
      'An exit grant lapses when its worker has not left within this many seconds.',
      { example: '60' },
    ),
    reportTtlSeconds: field(
      z.number().positive().max(3600).default(30),
      "How long a worker-agent's busy/idle report counts (a worker without a fresh report counts as busy).",
      { example: '30' },
    ),
    statementTimeoutMs: field(
      z.number().int().min(100).max(600_000).default(5000),
      'statement_timeout of the metadb read: a slow metadb holds scale-in instead of piling up.',
      { example: '5000' },
    ),
    brokerTimeoutMs: field(z.number().int().min(100).max(600_000).default(3000), 'Broker (Redis) read timeout.', {
      example: '3000',
    }),
    brokerKeyPrefix: keyPrefix(),
  },
  {
    uses: [awsConfigSection, airflowConfigSection, metricsConfigSection, workerPoolDefaultsSection, workerPoolsSection],
  },
);

/** The `workerAgent` section (`windsock worker-agent`, one beside each Celery worker). */
export const workerAgentSection = defineSection(
  'workerAgent',
  {
    pool: field(z.string().min(1).optional(), 'The worker pool this worker belongs to (its name in workerPools).', {
      example: 'workers-default',
    }),
    workerId: field(
      z.string().min(1).optional(),
      "This worker's id as its backend names it (docker: the container name, set by the docker backend). Default: the hostname.",
      { example: 'airflow-worker-ws-1a2b3c4d' },
    ),
    celeryHostname: field(
      z.string().min(1).optional(),
      "The Celery worker's node name (`celery worker -n`). Default: celery@<hostname>.",
      { example: 'celery@worker-1' },
    ),
    taskHostname: field(
      z.string().min(1).optional(),
      'task_instance.hostname of the tasks this worker runs (Airflow: the FQDN). Default: the hostname.',
      { example: 'worker-1.internal' },
    ),
    queues: field(
      z.array(z.string().min(1)).default([]),
      'Queues to stop consuming before leaving (default: what the worker consumes, asked with active_queues).',
      { example: '["default"]' },
    ),
    coordinatorUrls: field(
      z.array(z.string().url()).default([]),
      'The scaler coordinators (every replica; the leader answers).',
      { example: '["http://scaler-a:9464","http://scaler-b:9464"]' },
    ),
    pollSeconds: field(z.number().positive().max(300).default(5), 'Seconds between looks at the worker.', {
      example: '5',
    }),
    celeryPidFile: field(
      z.string().min(1).optional(),
      "The Celery main process's pid file (`celery worker --pidfile`): leaving sends SIGTERM to that pid only. Without it the agent sends Celery's shutdown command (also a warm shutdown).",
      { example: '/tmp/celery.pid' },
    ),
    settleSeconds: field(
      z.number().min(0).max(60).default(2.5),
      "After the worker stopped consuming, wait this long before the last look (kombu's Redis transport may have a 1 s BRPOP in flight that takes one more message).",
      { example: '2.5' },
    ),
    brokerKeyPrefix: keyPrefix(),
    exitWhenWorkerGone: field(z.boolean().default(true), 'Exit once the worker has left.', { example: 'true' }),
  },
  { uses: [airflowConfigSection] },
);

export type ScalerConfig = SectionConfig<typeof scalerSection>;
export type WorkerAgentConfig = SectionConfig<typeof workerAgentSection>;
