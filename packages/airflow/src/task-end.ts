/**
 * The last lines Airflow writes into a task attempt's log: after one of them the attempt writes no
 * more (a deferred attempt resumes in a new log generation). Sources: 2.x `local_task_job_runner.py`
 * ("Task exited with return code", the follow-on schedule check) and `taskinstance.py` `_log_state`
 * ("Marking task as ..."), deferral ("Pausing task as DEFERRED"); 3.x task runner / supervisor JSON
 * lines (`"event": "Task finished"`, `"Task instance in <state> state"`).
 */

/** Patterns (regular expression sources) of Airflow's end-of-attempt lines, 2.x and 3.x. */
export const TASK_END_MARKERS: readonly string[] = [
  // 2.x: LocalTaskJob's last lines.
  'Task exited with return code',
  'downstream tasks scheduled from follow-on schedule check',
  // 2.x and 3.x `_log_state` (FAILED/UP_FOR_RETRY/SKIPPED/SUCCESS) and deferral.
  'Marking task as (SUCCESS|FAILED|UP_FOR_RETRY|SKIPPED|UP_FOR_RESCHEDULE)',
  'Pausing task as DEFERRED',
  // 3.x supervisor/task runner JSON lines.
  '"event": ?"Task (finished|instance in [a-z_]+ state)',
];

/**
 * True when any line of `text` (complete lines, `\n`-separated) matches one of `markers`.
 *
 * @example
 * hasTaskEndMarker('INFO - Task exited with return code 0\n', TASK_END_MARKERS.map((p) => new RegExp(p))) // true
 */
export function hasTaskEndMarker(text: string, markers: readonly RegExp[]): boolean {
  if (markers.length === 0 || text === '') return false;
  for (const line of text.split('\n')) {
    for (const m of markers) if (m.test(line)) return true;
  }
  return false;
}
