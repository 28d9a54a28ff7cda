/**
 * Which Airflow process wrote a log, read from its path the way Airflow and the official image lay
 * logs out (task logs under `dag_id=.../attempt=N.log` or the pre-2.3 `dag/task/ts/N.log`, process
 * logs named after their component). log-metrics' Component dimension uses it.
 */

/** Components known by name (a configured component may be any other word too). */
export const COMPONENTS = [
  'scheduler',
  'worker',
  'task',
  'webserver',
  'api-server',
  'triggerer',
  'dag-processor',
] as const;

// Checked in order: a task log path (dag_id=.../attempt=N.log) may contain any other word.
const RULES: [RegExp, string][] = [
  [/(?:^|\/)(?:dag_id=[^/]+\/|[^/]+\/[^/]+\/[^/]+\/\d+\.log$)|\/attempt=\d+\.log(?:\.trigger\.\d+\.log)?$/, 'task'],
  [/dag[-_]?processor/i, 'dag-processor'],
  [/scheduler/i, 'scheduler'],
  [/triggerer/i, 'triggerer'],
  [/api[-_]?server/i, 'api-server'],
  [/webserver|gunicorn/i, 'webserver'],
  [/worker|celery/i, 'worker'],
];

/** The component a log path belongs to, or 'unknown' when nothing in the path tells. */
export function inferComponent(path: string): string {
  const p = path.replace(/\\/g, '/');
  for (const [re, name] of RULES) if (re.test(p)) return name;
  return 'unknown';
}

const DAG_IN_PATH = /(?:^|\/)dag_id=([^/]+)\//;

/** The DAG a task log path names (`.../dag_id=<dag>/...`), if any. */
export function dagFromPath(path: string): string | undefined {
  return DAG_IN_PATH.exec(path)?.[1];
}
