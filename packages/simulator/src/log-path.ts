/**
 * Renders the task log path from `log_filename_template` for the templates a fresh metadb holds
 * (the 2.x and 3.x defaults). Kept in one module so @windsock/airflow's renderer can replace it.
 */

/** The fields the default templates use. */
export interface LogPathFields {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

/** Renders the default template (identical output on 2.x and 3.x). */
export function renderDefaultLogPath(f: LogPathFields): string {
  const map = f.mapIndex >= 0 ? `map_index=${f.mapIndex}/` : '';
  return `dag_id=${f.dagId}/run_id=${f.runId}/task_id=${f.taskId}/${map}attempt=${f.tryNumber}.log`;
}
