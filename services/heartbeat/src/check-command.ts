import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AIRFLOW2_LOG_FILENAME_TEMPLATE,
  AIRFLOW3_LOG_FILENAME_TEMPLATE,
  type AirflowSchemaVersion,
  dagRuns,
  dagSchedule,
  detectAirflowSchemaVersion,
  NotAnAirflowMetadbError,
  newestSchedulerHeartbeat,
  renderLogFilename,
  runTasks,
} from '@windsock/airflow';
import type { CommandContext, WindsockCommand } from '@windsock/core';
import { errorMessage } from '@windsock/core';
import pg from 'pg';
import type { HeartbeatConfig } from './config.ts';
import { heartbeatSection } from './config.ts';
import { scheduleIntervalSeconds } from './schedule.ts';
import {
  EXIT,
  type HeartbeatFacts,
  type HeartbeatTask,
  type HeartbeatVerdict,
  judge,
  renderVerdict,
  thresholdsFor,
} from './status.ts';

type Ctx = CommandContext<{ heartbeat: HeartbeatConfig }>;

const DEFAULT_INTERVAL_SECONDS = 300;

/** The facts and the interval's source, read from the metadb in one connection. */
async function readFacts(ctx: Ctx, client: pg.Client, now: Date) {
  const { airflow, heartbeat } = ctx.config;
  const version: AirflowSchemaVersion =
    airflow.version === 'auto' ? await detectAirflowSchemaVersion(client) : airflow.version === '2' ? '2.10' : '3';
  const dagId = heartbeat.dagId;
  const dag = await dagSchedule(client, version, dagId);
  const [newest] = await dagRuns(client, version, dagId, { limit: 1 });
  const [lastSuccess] = await dagRuns(client, version, dagId, { state: 'success', limit: 1 });
  const tasks = newest ? await runTasks(client, dagId, newest.runId) : [];
  const scheduler = await newestSchedulerHeartbeat(client, now);
  const failed = tasks.filter((t) => t.state === 'failed');
  const withMessages: HeartbeatTask[] = await Promise.all(
    tasks.map(async (t) => {
      const message =
        newest && failed.includes(t)
          ? await probeMessage(ctx, version, { dagId, runId: newest.runId, ...t })
          : undefined;
      return { taskId: t.taskId, state: t.state, endDate: t.endDate, ...(message ? { message } : {}) };
    }),
  );
  const facts: HeartbeatFacts = {
    dagId,
    dagFound: dag !== null,
    paused: dag?.paused ?? null,
    newestRun: newest ?? null,
    newestRunTasks: withMessages,
    lastSuccess: lastSuccess ?? null,
    schedulerHeartbeatAgeSeconds: scheduler?.ageSeconds ?? null,
  };
  let interval = heartbeat.intervalSeconds;
  let source = 'heartbeat.intervalSeconds';
  if (interval === undefined) {
    interval = scheduleIntervalSeconds(dag?.schedule);
    source = interval === undefined ? '' : "the DAG's schedule";
  }
  if (interval === undefined) {
    interval = DEFAULT_INTERVAL_SECONDS;
    source = dag
      ? `default: the schedule ${JSON.stringify(dag.schedule)} is not a fixed interval, set heartbeat.intervalSeconds`
      : 'default';
  }
  return { facts, interval, source };
}

/**
 * The failed probe's own line (`windsock probe <name>: FAIL ...`) from its local task log, when
 * this machine has Airflow's log folder (a worker's sidecar, or a shared volume).
 */
async function probeMessage(
  ctx: Ctx,
  version: AirflowSchemaVersion,
  ti: { dagId: string; runId: string; taskId: string; mapIndex: number; tryNumber: number | null },
): Promise<string | undefined> {
  const { airflow } = ctx.config;
  const template =
    airflow.logFilenameTemplate ?? (version === '3' ? AIRFLOW3_LOG_FILENAME_TEMPLATE : AIRFLOW2_LOG_FILENAME_TEMPLATE);
  try {
    const rel = renderLogFilename(
      template,
      { dagId: ti.dagId, taskId: ti.taskId, runId: ti.runId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber ?? 1 },
      { context: version === '3' ? 'airflow3-reader' : 'airflow2' },
    );
    const text = await readFile(join(airflow.baseLogFolder, rel), 'utf8');
    const lines = text.split('\n').filter((l) => l.includes('windsock probe ') && l.includes(': FAIL'));
    const line = lines[lines.length - 1];
    if (line) return line.slice(line.indexOf('windsock probe ')).replace(/["}\s]+$/, '');
    const last = text.split('\n').filter((l) => /ERROR|Error|Exception/.test(l));
    return last.length ? last[last.length - 1]?.trim().slice(0, 300) : undefined;
  } catch (err) {
    ctx.logger.debug({ err: errorMessage(err), taskId: ti.taskId }, 'no local task log for the failed probe');
    return undefined;
  }
}

function unknown(ctx: Ctx, reason: string): HeartbeatVerdict {
  return {
    status: 'UNKNOWN',
    code: EXIT.UNKNOWN,
    summary: reason,
    details: [],
    lastSuccess: null,
    newestRun: null,
    failedProbes: [],
    schedulerHeartbeatAgeSeconds: null,
    thresholds: thresholdsFor(ctx.config.heartbeat.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS, 'not read'),
  };
}

/** `windsock heartbeat check`. */
export const heartbeatCheckCommand: WindsockCommand = {
  name: 'heartbeat check',
  summary: 'when the heartbeat DAG last succeeded, which probe failed; exit 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN',
  configSection: heartbeatSection,
  options: [
    { flags: '--database-url <url>', description: 'Airflow metadb (PostgreSQL) URL', configKey: 'airflow.databaseUrl' },
    { flags: '--dag-id <id>', description: 'the heartbeat DAG', configKey: 'heartbeat.dagId' },
    {
      flags: '--interval-seconds <n>',
      description: "the DAG's interval (default: from its schedule)",
      configKey: 'heartbeat.intervalSeconds',
      parse: 'number',
    },
    {
      flags: '--warn-after-seconds <n>',
      description: 'WARN when the last success is older (default 2 intervals)',
      configKey: 'heartbeat.warnAfterSeconds',
      parse: 'number',
    },
    {
      flags: '--crit-after-seconds <n>',
      description: 'CRIT when the last success is older (default 3 intervals)',
      configKey: 'heartbeat.critAfterSeconds',
      parse: 'number',
    },
    { flags: '--json', description: 'print the verdict as one JSON object' },
  ],
  async run(raw) {
    const ctx = raw as Ctx;
    const { airflow, heartbeat } = ctx.config;
    const now = new Date();
    let verdict: HeartbeatVerdict;
    if (!airflow.databaseUrl) {
      verdict = unknown(
        ctx,
        'no metadb URL: pass --database-url, set airflow.databaseUrl, or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN',
      );
    } else {
      const client = new pg.Client({
        connectionString: airflow.databaseUrl,
        connectionTimeoutMillis: 5000,
        statement_timeout: 5000,
        application_name: 'windsock-heartbeat-check',
      });
      client.on('error', () => {});
      try {
        await client.connect();
        const { facts, interval, source } = await readFacts(ctx, client, now);
        verdict = judge(
          facts,
          thresholdsFor(interval, source, {
            ...(heartbeat.warnAfterSeconds ? { warnAfterSeconds: heartbeat.warnAfterSeconds } : {}),
            ...(heartbeat.critAfterSeconds ? { critAfterSeconds: heartbeat.critAfterSeconds } : {}),
            schedulerWarnSeconds: heartbeat.schedulerWarnSeconds,
            schedulerCritSeconds: heartbeat.schedulerCritSeconds,
          }),
          now,
        );
      } catch (err) {
        const what =
          err instanceof NotAnAirflowMetadbError
            ? `not an Airflow metadb: ${errorMessage(err)}`
            : `metadb unreachable: ${errorMessage(err)}`;
        verdict = unknown(ctx, what);
      } finally {
        await client.end().catch(() => {});
      }
    }
    ctx.stdout.write(ctx.options.json ? `${JSON.stringify(verdict)}\n` : `${renderVerdict(verdict)}\n`);
    return verdict.code;
  },
};
