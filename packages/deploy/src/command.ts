import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { type CommandContext, ConfigError, type WindsockCommand } from '@windsock/core';
import { type AlarmInputs, type AlarmSettings, alarmProblems, planAlarms, recommendedAlarms } from './alarms.ts';
import { alarmsSection } from './config.ts';

interface LooseConfig {
  cluster: string;
  metrics: { namespace: string };
  aws: { region?: string; endpoint?: string };
  alarms: AlarmSettings;
  queueDepth?: { queues?: string[] };
  workerPools?: { name: string; max?: number }[];
  heartbeat?: { dagId?: string; component?: string; intervalSeconds?: number };
}

/** The alarms' inputs from the one config (sections of other commands read if registered). */
export function alarmInputs(config: LooseConfig): AlarmInputs {
  return {
    cluster: config.cluster,
    namespace: config.metrics.namespace,
    alarms: config.alarms,
    queues: config.queueDepth?.queues ?? [],
    pools: (config.workerPools ?? []).flatMap((p) => (p.max !== undefined ? [{ name: p.name, max: p.max }] : [])),
    heartbeat: {
      dagId: config.heartbeat?.dagId ?? 'windsock_heartbeat',
      component: config.heartbeat?.component ?? 'task',
      intervalSeconds: config.heartbeat?.intervalSeconds ?? 300,
    },
  };
}

export function cloudWatch(config: LooseConfig): CloudWatchClient {
  return new CloudWatchClient({
    ...(config.aws.region ? { region: config.aws.region } : {}),
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
  });
}

/** Every alarm that exists under the names we build (DescribeAlarms by name, 100 a call). */
async function existingAlarms(cw: CloudWatchClient, names: string[]): Promise<MetricAlarm[]> {
  const out: MetricAlarm[] = [];
  for (let i = 0; i < names.length; i += 100) {
    let token: string | undefined;
    do {
      const r = await cw.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(i, i + 100),
          AlarmTypes: ['MetricAlarm'],
          NextToken: token,
        }),
      );
      out.push(...(r.MetricAlarms ?? []));
      token = r.NextToken;
    } while (token);
  }
  return out;
}

async function run(ctx: CommandContext, apply: boolean): Promise<number> {
  const config = ctx.config as unknown as LooseConfig;
  const alarms = recommendedAlarms(alarmInputs(config));
  const problems = alarmProblems(alarms);
  if (problems.length)
    throw new ConfigError(`CloudWatch would refuse these alarms (nothing sent): ${problems.join('; ')}`);
  const cw = cloudWatch(config);
  try {
    const plan = planAlarms(
      alarms,
      await existingAlarms(
        cw,
        alarms.map((a) => a.AlarmName as string),
      ),
    );
    if (ctx.options.format === 'json') ctx.stdout.write(`${JSON.stringify({ plan, alarms }, null, 2)}\n`);
    else {
      for (const p of plan) {
        ctx.stdout.write(`${p.change === 'create' ? '+' : p.change === 'update' ? '~' : '='} ${p.name}\n`);
        for (const d of p.differences) ctx.stdout.write(`    ${d}\n`);
      }
      const count = (c: string) => plan.filter((p) => p.change === c).length;
      ctx.stdout.write(
        `${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged${apply ? '' : ' (plan only)'}\n`,
      );
    }
    if (!apply) return 0;
    for (const a of alarms) {
      if (plan.find((p) => p.name === a.AlarmName)?.change === 'unchanged') continue;
      await cw.send(new PutMetricAlarmCommand(a));
    }
    ctx.logger.info({ alarms: alarms.length }, 'alarms applied');
    return 0;
  } finally {
    cw.destroy();
  }
}

const options = [{ flags: '--format <format>', description: 'text or json', defaultValue: 'text' }];

export const alarmsPlanCommand: WindsockCommand = {
  name: 'alarms plan',
  summary: 'show the recommended CloudWatch alarms and how they differ from what exists',
  configSection: alarmsSection,
  options,
  run: (ctx) => run(ctx, false),
};

export const alarmsApplyCommand: WindsockCommand = {
  name: 'alarms apply',
  summary: 'create or update the recommended CloudWatch alarms (validated against the limits first)',
  configSection: alarmsSection,
  options,
  run: (ctx) => run(ctx, true),
};
