/**
 * When a task log is finished: an end marker in its last lines, a quiet period, or (optional) the
 * metadb saying the attempt can write no more. Markers come from Airflow's own last lines
 * (2.x local_task_job_runner.py / taskinstance.py `_log_state`; 3.x task runner JSON lines).
 */

/** Default end-marker patterns, matched against each new line of a task log. */
export const DEFAULT_END_MARKERS: readonly string[] = [
  // 2.x: LocalTaskJob's last lines.
  'Task exited with return code',
  'downstream tasks scheduled from follow-on schedule check',
  // 2.x and 3.x `_log_state` (FAILED/UP_FOR_RETRY/SKIPPED/SUCCESS) and deferral.
  'Marking task as (SUCCESS|FAILED|UP_FOR_RETRY|SKIPPED|UP_FOR_RESCHEDULE)',
  'Pausing task as DEFERRED',
  // 3.x supervisor/task runner JSON lines.
  '"event": ?"Task (finished|instance in [a-z_]+ state)',
];

/** Compiles marker patterns once; a bad pattern is a config error naming it. */
export function compileMarkers(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(
        `logShipper.endMarkers: invalid regular expression ${JSON.stringify(p)}: ${(err as Error).message}`,
      );
    }
  });
}

/** True when any complete line of `text` matches a marker. */
export function hasEndMarker(text: string, markers: readonly RegExp[]): boolean {
  if (markers.length === 0 || text === '') return false;
  for (const line of text.split('\n')) {
    for (const m of markers) if (m.test(line)) return true;
  }
  return false;
}

/** The identity of a task attempt parsed from a default-template log path (Airflow 2.3+ and 3.x). */
export interface AttemptIdentity {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  tryNumber: number;
}

const DEFAULT_TEMPLATE_PATH =
  /^dag_id=([^/]+)\/run_id=([^/]+)\/task_id=([^/]+)\/(?:map_index=(\d+)\/)?attempt=(\d+)\.log(?:\.trigger\.\d+\.log)?$/;

/** Parses `dag_id=…/run_id=…/task_id=…/[map_index=…/]attempt=N.log`; undefined for other layouts. */
export function parseDefaultTemplatePath(rel: string): AttemptIdentity | undefined {
  const m = DEFAULT_TEMPLATE_PATH.exec(rel);
  if (!m) return undefined;
  return {
    dagId: m[1]!,
    runId: m[2]!,
    taskId: m[3]!,
    mapIndex: m[4] === undefined ? -1 : Number(m[4]),
    tryNumber: Number(m[5]),
  };
}

/** Answers whether the attempt a log belongs to can write no more lines; undefined when it cannot tell. */
export interface FinishSignal {
  attemptFinished(relativePath: string): Promise<boolean | undefined>;
}
