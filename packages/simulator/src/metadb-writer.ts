/**
 * Mirrors the simulator's state into Airflow's metadb: one transaction per virtual tick, one
 * multi-row upsert per table, so a tick costs a handful of round trips whatever its size.
 */
import type pg from 'pg';
import type { RunModel, TiModel } from './model.ts';
import { pgTimestamp, US } from './time-format.ts';

/** A `job` row (SchedulerJob, and LocalTaskJob on 2.x). */
export interface JobRow {
  id: number;
  dagId: string | null;
  state: string;
  jobType: 'SchedulerJob' | 'LocalTaskJob';
  startUs: number;
  endUs: number | null;
  heartbeatUs: number;
  hostname: string;
}

/** A `trigger` row for a deferred TI. */
export interface TriggerRow {
  id: number;
  createdUs: number;
  fireUs: number;
}

/** What one tick changed. */
export interface TickChanges {
  runs: RunModel[];
  tis: TiModel[];
  jobs: JobRow[];
  newTriggers: TriggerRow[];
  deletedTriggerIds: number[];
}

const ts = (us: number | null): string | null => (us === null ? null : pgTimestamp(us));

/** Writes tick changes for one schema version. */
export class MetadbWriter {
  constructor(
    private readonly client: pg.Client,
    private readonly version: '2.10' | '3',
    private readonly logTemplateId: number,
    private readonly dagVersionIds: Map<string, string>,
  ) {}

  /** Applies one tick's changes in a single transaction. */
  async apply(c: TickChanges): Promise<void> {
    if (c.runs.length + c.tis.length + c.jobs.length + c.newTriggers.length + c.deletedTriggerIds.length === 0) return;
    await this.client.query('BEGIN');
    try {
      if (c.newTriggers.length > 0) await this.insertTriggers(c.newTriggers);
      if (c.runs.length > 0) await this.upsertRuns(c.runs);
      for (let i = 0; i < c.tis.length; i += 1000) await this.upsertTis(c.tis.slice(i, i + 1000));
      if (c.deletedTriggerIds.length > 0) {
        await this.client.query('DELETE FROM trigger WHERE id = ANY($1::int[])', [c.deletedTriggerIds]);
      }
      if (c.jobs.length > 0) await this.upsertJobs(c.jobs);
      await this.client.query('COMMIT');
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async upsert(table: string, cols: string[], key: string, rows: unknown[][]): Promise<void> {
    const params: unknown[] = [];
    const tuples = rows.map((r) => {
      const ph = r.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${ph.join(',')})`;
    });
    const keyCols = new Set(key.split(',').map((s) => s.trim()));
    const set = cols
      .filter((c) => !keyCols.has(c))
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    await this.client.query(
      `INSERT INTO ${table} (${cols.join(',')}) VALUES ${tuples.join(',')} ON CONFLICT (${key}) DO UPDATE SET ${set}`,
      params,
    );
  }

  private async insertTriggers(rows: TriggerRow[]): Promise<void> {
    await this.upsert(
      'trigger',
      ['id', 'classpath', 'kwargs', 'created_date', 'triggerer_id'],
      'id',
      rows.map((r) => [
        r.id,
        'airflow.triggers.temporal.DateTimeTrigger',
        JSON.stringify({ moment: pgTimestamp(r.fireUs), end_from_trigger: false }),
        ts(r.createdUs),
        null,
      ]),
    );
  }

  private async upsertRuns(runs: RunModel[]): Promise<void> {
    if (this.version === '2.10') {
      await this.upsert(
        'dag_run',
        [
          'id',
          'dag_id',
          'queued_at',
          'execution_date',
          'start_date',
          'end_date',
          'state',
          'run_id',
          'creating_job_id',
          'external_trigger',
          'run_type',
          'data_interval_start',
          'data_interval_end',
          'last_scheduling_decision',
          'log_template_id',
          'updated_at',
          'clear_number',
        ],
        'id',
        runs.map((r) => [
          r.id,
          r.dag.dagId,
          ts(r.queuedAtUs),
          ts(r.logicalDateUs),
          ts(r.startDateUs),
          ts(r.endDateUs),
          r.state,
          r.runId,
          null,
          r.runType === 'manual',
          r.runType,
          ts(r.logicalDateUs),
          ts(r.logicalDateUs),
          ts(r.endDateUs ?? r.startDateUs),
          this.logTemplateId,
          ts(r.endDateUs ?? r.startDateUs),
          0,
        ]),
      );
      return;
    }
    await this.upsert(
      'dag_run',
      [
        'id',
        'dag_id',
        'queued_at',
        'logical_date',
        'start_date',
        'end_date',
        'state',
        'run_id',
        'run_type',
        'triggered_by',
        'data_interval_start',
        'data_interval_end',
        'run_after',
        'last_scheduling_decision',
        'log_template_id',
        'updated_at',
        'clear_number',
        'created_dag_version_id',
      ],
      'id',
      runs.map((r) => [
        r.id,
        r.dag.dagId,
        ts(r.queuedAtUs),
        ts(r.logicalDateUs),
        ts(r.startDateUs),
        ts(r.endDateUs),
        r.state,
        r.runId,
        r.runType,
        r.runType === 'manual' ? 'rest_api' : 'timetable',
        ts(r.logicalDateUs),
        ts(r.logicalDateUs),
        ts(r.queuedAtUs),
        ts(r.endDateUs ?? r.startDateUs),
        this.logTemplateId,
        ts(r.endDateUs ?? r.startDateUs),
        0,
        this.dagVersionIds.get(r.dag.dagId) ?? null,
      ]),
    );
  }

  private async upsertTis(tis: TiModel[]): Promise<void> {
    const common = [
      'task_id',
      'dag_id',
      'run_id',
      'map_index',
      'start_date',
      'end_date',
      'duration',
      'state',
      'try_number',
      'max_tries',
      'hostname',
      'unixname',
      'pool',
      'pool_slots',
      'queue',
      'priority_weight',
      'operator',
      'queued_dttm',
      'queued_by_job_id',
      'pid',
      'updated_at',
      'external_executor_id',
      'trigger_id',
      'trigger_timeout',
      'next_method',
      'next_kwargs',
      'task_display_name',
    ];
    const row = (ti: TiModel): unknown[] => [
      ti.taskId,
      ti.run.dag.dagId,
      ti.run.runId,
      ti.mapIndex,
      ts(ti.startDateUs),
      ts(ti.endDateUs),
      ti.durationS,
      ti.state,
      ti.tryNumber,
      ti.maxTries,
      ti.hostname,
      'airflow',
      ti.pool,
      ti.poolSlots,
      ti.queue,
      ti.priorityWeight,
      ti.operator,
      ts(ti.queuedDttmUs),
      ti.queuedByJobId,
      ti.pid,
      ts(ti.updatedAtUs),
      ti.externalExecutorId,
      ti.triggerId,
      ti.triggerTimeoutUs === null ? null : pgTimestamp(ti.triggerTimeoutUs).replace('Z', ''),
      ti.nextMethod,
      ti.nextMethod === null ? null : '{"__var": {}, "__type": "dict"}',
      ti.taskId,
    ];
    if (this.version === '2.10') {
      await this.upsert(
        'task_instance',
        [...common, 'job_id'],
        'dag_id, task_id, run_id, map_index',
        tis.map((ti) => [...row(ti), ti.jobId]),
      );
      return;
    }
    await this.upsert(
      'task_instance',
      [...common, 'id', 'scheduled_dttm', 'last_heartbeat_at', 'dag_version_id'],
      'dag_id, task_id, run_id, map_index',
      tis.map((ti) => [
        ...row(ti),
        ti.uuid,
        ts(ti.scheduledDttmUs),
        ts(ti.lastHeartbeatUs),
        this.dagVersionIds.get(ti.run.dag.dagId) ?? null,
      ]),
    );
  }

  private async upsertJobs(jobs: JobRow[]): Promise<void> {
    await this.upsert(
      'job',
      [
        'id',
        'dag_id',
        'state',
        'job_type',
        'start_date',
        'end_date',
        'latest_heartbeat',
        'executor_class',
        'hostname',
        'unixname',
      ],
      'id',
      jobs.map((j) => [
        j.id,
        j.dagId,
        j.state,
        j.jobType,
        ts(j.startUs),
        ts(j.endUs),
        ts(j.heartbeatUs),
        j.jobType === 'SchedulerJob' ? 'CeleryExecutor' : null,
        j.hostname,
        'airflow',
      ]),
    );
  }
}

/** Seconds between two virtual instants, as a double. */
export function secondsBetween(fromUs: number, toUs: number): number {
  return (toUs - fromUs) / US;
}
