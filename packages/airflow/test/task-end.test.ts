/**
 * Airflow's end-of-attempt lines as the 2.x and 3.x task logs hold them: each is recognised, and
 * the lines a running task writes (including a `Marking task as RUNNING`-like text that is not an
 * end, and a state word in a user's own message) are not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasTaskEndMarker, TASK_END_MARKERS } from '@windsock/airflow';

const markers = TASK_END_MARKERS.map((p) => new RegExp(p));

describe('task-end markers', () => {
  it('recognises the last lines of 2.x and 3.x attempts', () => {
    const ends = [
      '[2024-03-01T10:15:02.000+0000] {local_task_job_runner.py:240} INFO - Task exited with return code 0',
      '[2024-03-01T10:15:02.000+0000] {taskinstance.py:3503} INFO - 0 downstream tasks scheduled from follow-on schedule check',
      '[2024-03-01T10:15:01.000+0000] {taskinstance.py:1206} INFO - Marking task as SUCCESS. dag_id=etl, task_id=t, run_id=r',
      '[2024-03-01T10:15:01.000+0000] {taskinstance.py:1206} INFO - Marking task as UP_FOR_RETRY. dag_id=etl, task_id=t',
      '[2024-03-01T10:15:01.000+0000] {taskinstance.py:1530} INFO - Pausing task as DEFERRED. dag_id=etl, task_id=wait',
      '{"timestamp":"2025-05-02T08:00:03.000000Z","level":"info","event":"Task finished","logger":"supervisor"}',
      '{"timestamp": "2025-05-02T08:00:03.000000Z", "level": "info", "event": "Task instance in success state"}',
    ];
    for (const line of ends) assert.equal(hasTaskEndMarker(`${line}\n`, markers), true, line);
  });

  it('does not end on the lines of a running task', () => {
    const running = [
      '[2024-03-01T10:15:00.000+0000] {taskinstance.py:2330} INFO - Starting attempt 1 of 3',
      '[2024-03-01T10:15:00.000+0000] {taskinstance.py:1206} INFO - Marking task as RUNNING. dag_id=etl',
      '[2024-03-01T10:15:00.500+0000] {bash.py:20} INFO - the job says: task SUCCESS soon',
      '{"timestamp":"2025-05-02T08:00:00.000000Z","level":"info","event":"Task started","logger":"task"}',
    ];
    assert.equal(hasTaskEndMarker(running.join('\n'), markers), false);
    assert.equal(hasTaskEndMarker('', markers), false);
    assert.equal(hasTaskEndMarker(running[0]!, []), false);
  });
});
