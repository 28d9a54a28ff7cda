import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, type SectionConfig, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';

const seconds = (max: number) => z.number().positive().max(max);

/** The `heartbeat` config section: which DAG is the heartbeat and when its silence is a problem. */
export const heartbeatSection = defineSection(
  'heartbeat',
  {
    dagId: field(z.string().min(1).max(250).default('windsock_heartbeat'), 'The heartbeat DAG.', {
      example: 'windsock_heartbeat',
    }),
    intervalSeconds: field(
      seconds(86_400).optional(),
      "The DAG's interval (default: read from the DAG's schedule in the metadb).",
      { example: '300' },
    ),
    warnAfterSeconds: field(
      seconds(7 * 86_400).optional(),
      'WARN when the last success is older (default 2 intervals).',
      {
        example: '600',
      },
    ),
    critAfterSeconds: field(
      seconds(7 * 86_400).optional(),
      'CRIT when the last success is older (default 3 intervals).',
      {
        example: '900',
      },
    ),
    schedulerWarnSeconds: field(
      seconds(86_400).default(30),
      "WARN when the scheduler's heartbeat is older (Airflow's scheduler_health_check_threshold).",
      { example: '30' },
    ),
    schedulerCritSeconds: field(seconds(86_400).default(300), "CRIT when the scheduler's heartbeat is older.", {
      example: '300',
    }),
    component: field(
      z.string().min(1).default('task'),
      'The Component dimension log-metrics gives the token (task logs: task).',
      { example: 'task' },
    ),
    alarmActions: field(
      z.array(z.string().min(1)).default([]),
      'ARNs (e.g. an SNS topic) the heartbeat alarm notifies; at most 5.',
      { example: '["arn:aws:sns:eu-west-1:123456789012:oncall"]' },
    ),
  },
  { uses: [airflowConfigSection, awsConfigSection, metricsConfigSection] },
);

/** The effective `heartbeat` section. */
export type HeartbeatConfig = SectionConfig<typeof heartbeatSection>;
