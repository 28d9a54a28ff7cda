import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type MetricAlarm,
  PutDashboardCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import { type CommandContext, ConfigError, type WindsockCommand } from '@windsock/core';
import { type AlarmInputs, type AlarmSettings, alarmProblems, planAlarms, recommendedAlarms } from './alarms.ts';
import { alarmsSection } from './config.ts';
import { cloudWatchDashboardBody, DASHBOARDS, grafanaDashboard } from './dashboards.ts';

interface LooseConfig {
  cluster: string;
  metrics: { namespace: string };
  aws: { region?: string; endpoint?: string };
  alarms: AlarmSettings & { dashboardPrefix: string };
  queueDepth?: { queues?: string[]; workerPools?: { name: string; max?: number }[] };
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
    // The scaler's pools (workerPools) and queue-depth's own (queueDepth.workerPools), by name.
    pools: [
      ...new Map(
        [...(config.queueDepth?.workerPools ?? []), ...(config.workerPools ?? [])].flatMap((p) =>
          p.max !== undefined ? [[p.name, { name: p.name, max: p.max }] as const] : [],
        ),
      ).values(),
    ],
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

/** The CloudWatch dashboards of the config's cluster: name -> body. */
export function cloudWatchDashboards(config: LooseConfig, region: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of DASHBOARDS) {
    const body = cloudWatchDashboardBody(d, { cluster: config.cluster, namespace: config.metrics.namespace, region });
    if (JSON.parse(body).widgets.length === 0) continue;
    out.set(`${config.alarms.dashboardPrefix}-${config.cluster}-${d.uid.replace(/^windsock-/, '')}`, body);
  }
  return out;
}

export const dashboardsBuildCommand: WindsockCommand = {
  name: 'dashboards build',
  summary: 'write the Grafana dashboards (Prometheus and CloudWatch flavours) and the CloudWatch dashboard bodies',
  configSection: alarmsSection,
  options: [{ flags: '--out <dir>', description: 'output folder', defaultValue: 'dashboards' }],
  run: async (ctx) => {
    const config = ctx.config as unknown as LooseConfig;
    const out = String(ctx.options.out ?? 'dashboards');
    mkdirSync(join(out, 'grafana'), { recursive: true });
    mkdirSync(join(out, 'cloudwatch'), { recursive: true });
    const written: string[] = [];
    const write = (path: string, text: string) => {
      writeFileSync(path, text);
      written.push(path);
    };
    for (const d of DASHBOARDS)
      for (const flavour of ['prometheus', 'cloudwatch'] as const) {
        const g = grafanaDashboard(d, flavour);
        if (g.panels.length) write(join(out, 'grafana', `${g.uid}.json`), `${JSON.stringify(g, null, 2)}\n`);
      }
    for (const [name, body] of cloudWatchDashboards(config, config.aws.region ?? 'us-east-1'))
      write(join(out, 'cloudwatch', `${name}.json`), `${JSON.stringify(JSON.parse(body), null, 2)}\n`);
    for (const w of written) ctx.stdout.write(`${w}\n`);
    return 0;
  },
};

export const dashboardsApplyCommand: WindsockCommand = {
  name: 'dashboards apply',
  summary: "put the CloudWatch dashboards for this config's cluster (PutDashboard)",
  configSection: alarmsSection,
  run: async (ctx) => {
    const config = ctx.config as unknown as LooseConfig;
    const cw = cloudWatch(config);
    try {
      const region = config.aws.region ?? (await cw.config.region());
      for (const [name, body] of cloudWatchDashboards(config, region)) {
        const r = await cw.send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
        const problems = r.DashboardValidationMessages ?? [];
        if (problems.length)
          throw new ConfigError(`CloudWatch refused dashboard ${name}: ${problems.map((p) => p.Message).join('; ')}`);
        ctx.stdout.write(`${name}\n`);
      }
      return 0;
    } finally {
      cw.destroy();
    }
  },
};
