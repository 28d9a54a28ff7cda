import { defineSection, field, z } from '@windsock/core';

/** The `alarms` config section: what `windsock alarms plan|apply` builds. */
export const alarmsSection = defineSection('alarms', {
  actions: field(
    z.array(z.string().startsWith('arn:')).max(5).default([]),
    'ARNs (e.g. an SNS topic) every recommended alarm notifies on ALARM and OK; at most 5.',
    { example: '["arn:aws:sns:eu-west-1:123456789012:oncall"]' },
  ),
  oldestQueuedSeconds: field(
    z.number().positive().default(900),
    'oldest-queued-age alarms: a queued task older than this for 5 minutes.',
    { example: '900' },
  ),
  schedulerHeartbeatSeconds: field(
    z.number().positive().default(120),
    'scheduler-heartbeat-age alarm: the scheduler heartbeat older than this for 3 minutes.',
    { example: '120' },
  ),
  workersAtMaxMinutes: field(
    z.number().int().min(5).max(1440).default(30),
    'workers-at-max alarms: a pool wanting its max for this long (rounded to 5 minutes).',
    { example: '30' },
  ),
  scaleInBlockedMinutes: field(
    z.number().int().min(5).max(1440).default(60),
    'scale-in-blocked alarms: scale-in deferred for busy workers this long (rounded to 5 minutes).',
    { example: '60' },
  ),
  logShipLagSeconds: field(
    z.number().positive().default(300),
    'log-ship-lag alarm: p99 of write-to-S3 lag above this for 15 minutes.',
    { example: '300' },
  ),
  dashboardPrefix: field(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('windsock'),
    'CloudWatch dashboard name prefix (`windsock dashboards apply`; the IAM policy docker/iam/deploy.json scopes to it).',
    { example: 'windsock' },
  ),
});
