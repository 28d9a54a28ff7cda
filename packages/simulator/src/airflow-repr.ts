/** How Airflow prints its objects in logs (Python reprs), written from Airflow's model code. */
import type { TiModel } from './model.ts';
import { pyIsoformat } from './time-format.ts';

/** `<TaskInstance: dag.task run_id [state]>`, with `map_index=N ` for mapped TIs (TaskInstance.__repr__). */
export function tiRepr(ti: TiModel, state: string | null = ti.state): string {
  const map = ti.mapIndex >= 0 ? `map_index=${ti.mapIndex} ` : '';
  return `<TaskInstance: ${ti.run.dag.dagId}.${ti.taskId} ${ti.run.runId} ${map}[${state ?? 'None'}]>`;
}

/** `TaskInstanceKey(dag_id='d', task_id='t', run_id='r', try_number=1, map_index=-1)`. */
export function tiKeyRepr(ti: TiModel, tryNumber: number = ti.tryNumber): string {
  return (
    `TaskInstanceKey(dag_id='${ti.run.dag.dagId}', task_id='${ti.taskId}', run_id='${ti.run.runId}', ` +
    `try_number=${tryNumber}, map_index=${ti.mapIndex})`
  );
}

/** The DAG file path relative to DAGS_FOLDER. */
export function dagFileName(ti: TiModel): string {
  return ti.run.dag.fileName ?? `${ti.run.dag.dagId}.py`;
}

/** The 2.x `airflow tasks run ... --local` command list the scheduler hands to the executor. */
export function commandList(ti: TiModel): string[] {
  const cmd = ['airflow', 'tasks', 'run', ti.run.dag.dagId, ti.taskId, ti.run.runId, '--local'];
  cmd.push('--subdir', `DAGS_FOLDER/${dagFileName(ti)}`);
  if (ti.mapIndex >= 0) cmd.push('--map-index', String(ti.mapIndex));
  return cmd;
}

/** Python repr of a list of strings. */
export function pyStrList(items: string[]): string {
  return `[${items.map((s) => `'${s}'`).join(', ')}]`;
}

/** `<DagRun dag @ logical: run_id, state:running, queued_at: ... externally triggered: False>`. */
export function dagRunRepr(ti: TiModel | { run: TiModel['run'] }, state: string): string {
  const r = ti.run;
  return (
    `<DagRun ${r.dag.dagId} @ ${pyIsoformat(r.logicalDateUs).replace('T', ' ')}: ${r.runId}, state:${state}, ` +
    `queued_at: ${pyIsoformat(r.queuedAtUs).replace('T', ' ')}. externally triggered: ${r.runType === 'manual' ? 'True' : 'False'}>`
  );
}
