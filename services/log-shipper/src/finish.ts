/**
 * When a task log is finished: an end marker in its last lines, a quiet period, or (optional) the
 * metadb saying the attempt can write no more (`metadb-finish.ts`). Markers come from Airflow's own last lines
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

/** Answers, for many logs at once, whether the attempt each belongs to can write no more lines. */
export interface FinishSignal {
  /** Per relative path (to the base log folder): true = ended, false = still running, absent/undefined = cannot tell. */
  attemptsFinished(relativePaths: readonly string[]): Promise<Map<string, boolean | undefined>>;
  close?(): Promise<void>;
}
