import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { validateMetricAlarm } from '@windsock/aws';
import type { CommandContext, WindsockCommand } from '@windsock/core';
import { ConfigError, errorMessage, UserError } from '@windsock/core';
import { buildHeartbeatAlarm } from './alarm.ts';
import { type HeartbeatConfig, heartbeatSection } from './config.ts';

type Ctx = CommandContext<{ heartbeat: HeartbeatConfig }>;

/** `windsock heartbeat alarm [--apply]`. */
export const heartbeatAlarmCommand: WindsockCommand = {
  name: 'heartbeat alarm',
  summary: 'print (or --apply) the CloudWatch alarm on missing heartbeat success tokens',
  configSection: heartbeatSection,
  options: [
    {
      flags: '--interval-seconds <n>',
      description: "the heartbeat DAG's interval (default 300)",
      configKey: 'heartbeat.intervalSeconds',
      parse: 'number',
    },
    { flags: '--apply', description: 'send it with PutMetricAlarm (default: print the request only)' },
  ],
  async run(raw) {
    const ctx = raw as Ctx;
    const { heartbeat, metrics, cluster, aws } = ctx.config;
    const alarm = buildHeartbeatAlarm({
      cluster,
      namespace: metrics.namespace,
      component: heartbeat.component,
      dagId: heartbeat.dagId,
      intervalSeconds: heartbeat.intervalSeconds ?? 300,
      alarmActions: heartbeat.alarmActions,
    });
    const problems = validateMetricAlarm(alarm);
    if (problems.length) {
      throw new ConfigError(`the heartbeat alarm would be refused by CloudWatch: ${problems.join('; ')}`);
    }
    ctx.stdout.write(`${JSON.stringify(alarm, null, 2)}\n`);
    if (!ctx.options.apply) return 0;
    const client = new CloudWatchClient({
      ...(aws.region ? { region: aws.region } : {}),
      ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
      maxAttempts: 3,
    });
    try {
      await client.send(new PutMetricAlarmCommand(alarm));
    } catch (err) {
      throw new UserError(`PutMetricAlarm ${alarm.AlarmName} failed: ${errorMessage(err)}`);
    } finally {
      client.destroy();
    }
    ctx.logger.info({ alarm: alarm.AlarmName, period: alarm.Period }, 'heartbeat alarm applied');
    return 0;
  },
};
