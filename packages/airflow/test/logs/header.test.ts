import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogTimestamp, recogniseHeader, stripAnsi } from '../../src/index.ts';

function head(line: string) {
  const h = recogniseHeader(line);
  assert.ok(h, `expected a header: ${line}`);
  return h;
}

describe('Airflow 2.x log_format `[ts] {file.py:NN} LEVEL - msg`', () => {
  const cases: [string, string][] = [
    ['TimezoneAware ISO with ms and offset', '2024-05-01T10:00:00.123+0000'],
    ["Python's default asctime, no zone", '2021-06-15 07:13:48,623'],
    ['the early `%Y-%m-%d %H:%M:%S%z NNNms` variant', '2022-06-12 13:00:00+0000 123ms'],
    ['UI-pasted local time with zone name', '2023-09-13, 12:26:31 BST'],
  ];
  for (const [name, ts] of cases) {
    it(`reads ${name}`, () => {
      const h = head(`[${ts}] {taskinstance.py:1206} WARNING - Marking task as SUCCESS.`);
      assert.equal(h.format, 'airflow2');
      assert.equal(h.timestamp, ts);
      assert.equal(h.level, 'WARNING');
      assert.equal(h.logger, 'taskinstance.py:1206');
      assert.equal(h.message, 'Marking task as SUCCESS.');
    });
  }

  it('reads the MWAA / 1.10 double-brace form', () => {
    const h = head('[2021-03-03 22:07:43,123] {{taskinstance.py:670}} ERROR - boom');
    assert.equal(h.format, 'airflow-mwaa');
    assert.equal(h.logger, 'taskinstance.py:670');
    assert.equal(h.level, 'ERROR');
    assert.equal(h.message, 'boom');
  });

  it('keeps an empty message (the record before an 80-dash banner)', () => {
    assert.equal(head('[2024-05-01T10:00:00.123+0000] {taskinstance.py:880} INFO - ').message, '');
    assert.equal(head('[2024-05-01T10:00:00.123+0000] {taskinstance.py:880} INFO -').message, '');
  });

  it('reads colored_log_format once ANSI codes are stripped', () => {
    const line =
      '[\u001b[34m2024-05-01T10:00:00.123+0000\u001b[0m] {\u001b[34mscheduler_job_runner.py:\u001b[0m411} ' +
      '\u001b[31mERROR\u001b[0m - \u001b[31mDetected zombie job\u001b[0m';
    assert.equal(recogniseHeader(line), null, 'raw colours are not a header');
    const h = head(stripAnsi(line));
    assert.equal(h.level, 'ERROR');
    assert.equal(h.logger, 'scheduler_job_runner.py:411');
    assert.equal(h.message, 'Detected zombie job');
  });

  it('normalises WARN and FATAL and maps custom levels away from ERROR/WARNING', () => {
    assert.equal(head('[2024-05-01 10:00:00,000] {x.py:1} WARN - w').level, 'WARNING');
    assert.equal(head('[2024-05-01 10:00:00,000] {x.py:1} FATAL - f').level, 'CRITICAL');
    assert.equal(recogniseHeader('[2024-05-01 10:00:00,000] {x.py:1} BANANA - f'), null);
  });

  it('rejects bracketed text that is not a timestamp header', () => {
    for (const line of [
      '[SQL: SELECT 1]',
      '[parameters: {}]',
      '[tasks]',
      '[2024-05-01 10:00:00,000] no braces here',
      '[2024-05-01 10:00:00,000] {x.py:1 INFO - unclosed',
      '[2024-05-01',
    ]) {
      assert.equal(recogniseHeader(line), null, line);
    }
  });
});

describe('simple_log_format `ts LEVEL - msg`', () => {
  it('reads Python asctime and the TimezoneAware form', () => {
    const a = head('2021-06-15 07:13:48,623 ERROR - Failed to fetch');
    assert.deepEqual(
      [a.format, a.timestamp, a.level, a.message],
      ['airflow2-simple', '2021-06-15 07:13:48,623', 'ERROR', 'Failed to fetch'],
    );
    const b = head('2022-06-12T13:00:00.123+0000 INFO - Starting');
    assert.equal(b.timestamp, '2022-06-12T13:00:00.123+0000');
    assert.equal(b.message, 'Starting');
  });
});

describe('Airflow 3.x structlog console', () => {
  it('splits event, [logger] and the key=value tail (3.1+ with Z and loc=)', () => {
    const h = head(
      '2026-04-13T17:31:54.635402Z [info     ] Task finished                  [supervisor] duration=1.2 exit_code=0 final_state=success loc=supervisor.py:1945',
    );
    assert.equal(h.format, 'airflow3-console');
    assert.equal(h.timestamp, '2026-04-13T17:31:54.635402Z');
    assert.equal(h.level, 'INFO');
    assert.equal(h.message, 'Task finished');
    assert.equal(h.logger, 'supervisor');
    assert.equal(h.fields, 'duration=1.2 exit_code=0 final_state=success loc=supervisor.py:1945');
  });

  it('reads the 3.0.0 form without zone or loc', () => {
    const h = head(
      '2025-04-23 18:15:02.920585 [warning  ] Pool full [airflow.jobs.scheduler_job_runner.SchedulerJobRunner]',
    );
    assert.equal(h.level, 'WARNING');
    assert.equal(h.timestamp, '2025-04-23 18:15:02.920585');
    assert.equal(h.logger, 'airflow.jobs.scheduler_job_runner.SchedulerJobRunner');
    assert.equal(h.fields, '');
  });

  it('does not mistake a TaskInstance repr `[scheduled]>` or `name[id]` for the logger', () => {
    const h = head(
      '2026-04-13T17:31:51.200000Z [info     ] Task execute_workload[5b7e0b7c-3a5a-4e7e-9d8e-0c1c2d3e4f50] received [celery.worker.strategy] loc=strategy.py:161',
    );
    assert.equal(h.message, 'Task execute_workload[5b7e0b7c-3a5a-4e7e-9d8e-0c1c2d3e4f50] received');
    assert.equal(h.logger, 'celery.worker.strategy');
  });

  it('marks a first line without its suffix as incomplete (multi-line event)', () => {
    const h = head('2026-04-13T17:31:50.100000Z [info     ] Setting the following tasks to queued state:');
    assert.equal(h.message, 'Setting the following tasks to queued state:');
    assert.equal((h as { incomplete?: boolean }).incomplete, true);
  });

  it('reads structlog colours once stripped', () => {
    const line =
      '\u001b[2m2026-04-13T17:31:54.635402Z\u001b[0m [\u001b[31m\u001b[1merror    \u001b[0m] \u001b[1mTask failed\u001b[0m [\u001b[0m\u001b[1m\u001b[34mtask\u001b[0m]';
    const h = head(stripAnsi(line));
    assert.equal(h.level, 'ERROR');
    assert.equal(h.logger, 'task');
  });
});

describe('JSON task logs', () => {
  it('reads Airflow 3 lines (timestamp, level, event first) without needing a full parse', () => {
    const h = head(
      '{"timestamp":"2025-03-31T18:03:17.098610Z","level":"warning","event":"say \\"hi\\"\\nnext","logger":"task","chan":"stdout"}',
    );
    assert.equal(h.format, 'airflow3-json');
    assert.equal(h.level, 'WARNING');
    assert.equal(h.message, 'say "hi"\nnext');
    assert.equal(h.logger, 'task');
    assert.equal(h.timestamp, '2025-03-31T18:03:17.098610Z');
    assert.equal(h.json, undefined);
  });

  it('decodes the object when it carries error_detail or final_state', () => {
    const h = head(
      '{"timestamp":"t","level":"error","event":"Task failed with exception","error_detail":[{"exc_type":"X"}]}',
    );
    assert.ok(Array.isArray(h.json?.error_detail));
  });

  it("reads Airflow 2's JSONFormatter (asctime, levelname, message, filename)", () => {
    const h = head(
      '{"asctime": "2024-05-01T10:00:05.456+0000", "filename": "taskinstance.py", "lineno": 2306, "levelname": "CRITICAL", "message": "x"}',
    );
    assert.equal(h.format, 'airflow2-json');
    assert.equal(h.level, 'CRITICAL');
    assert.equal(h.logger, 'taskinstance.py');
  });

  it('refuses JSON without a level, broken JSON and non-objects', () => {
    for (const line of ['{"event":"x"}', '{"level":"info","event":"x"', '{"level":"nope","event":"x"}', '{']) {
      assert.equal(recogniseHeader(line), null, line);
    }
  });
});

describe('Celery worker lines', () => {
  it('reads `[ts: LEVEL/Process] msg`', () => {
    const h = head("[2024-05-01 10:00:00,512: ERROR/MainProcess] Process 'ForkPoolWorker-4' pid:2300 exited");
    assert.equal(h.format, 'celery');
    assert.equal(h.timestamp, '2024-05-01 10:00:00,512');
    assert.equal(h.level, 'ERROR');
    assert.equal(h.logger, 'MainProcess');
  });

  it('reads the task form `name[id]: msg` and keeps name and id', () => {
    const h = head(
      '[2024-05-01 10:00:03,000: WARNING/ForkPoolWorker-3] execute_command[9e2f3041-5b6c-4d7e-8f90-1b2c3d4e5f60]: slow',
    );
    assert.equal(h.format, 'celery-task');
    assert.equal(h.celeryTaskName, 'execute_command');
    assert.equal(h.celeryTaskId, '9e2f3041-5b6c-4d7e-8f90-1b2c3d4e5f60');
    assert.equal(h.message, 'slow');
    assert.equal(h.logger, 'ForkPoolWorker-3');
  });

  it('reads a message that itself starts with a bracket', () => {
    const h = head('[2024-05-01 10:00:00,530: INFO/ForkPoolWorker-1] [3f0c6a7e] Executing command in Celery: []');
    assert.equal(h.format, 'celery');
    assert.equal(h.message, '[3f0c6a7e] Executing command in Celery: []');
  });
});

describe('webserver formats', () => {
  it('reads gunicorn `[ts] [pid] [LEVEL] msg` and uvicorn `LEVEL:     msg`', () => {
    const g = head('[2024-05-01 10:02:00 +0000] [12] [CRITICAL] WORKER TIMEOUT (pid:57)');
    assert.deepEqual(
      [g.format, g.level, g.logger, g.message],
      ['gunicorn', 'CRITICAL', '12', 'WORKER TIMEOUT (pid:57)'],
    );
    const u = head('ERROR:    Exception in ASGI application');
    assert.deepEqual([u.format, u.level, u.message], ['uvicorn', 'ERROR', 'Exception in ASGI application']);
  });

  it('does not read an exception line or an access log as a header', () => {
    assert.equal(recogniseHeader('ValueError: boom'), null);
    assert.equal(recogniseHeader('INFO'), null);
    assert.equal(recogniseHeader('127.0.0.1 - - [01/May/2024:10:00:05 +0000] "GET / HTTP/1.1" 200 1'), null);
  });
});

describe('parseLogTimestamp', () => {
  it('reads offsets, Z, zone-less and UI zone-name timestamps into epoch ms', () => {
    const utc = Date.UTC(2022, 5, 12, 13, 0, 0, 123);
    assert.deepEqual(parseLogTimestamp('2022-06-12T13:00:00.123+0000'), { epochMs: utc, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12T15:00:00.123+02:00'), { epochMs: utc, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12T13:00:00.123456Z'), { epochMs: utc, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12 13:00:00,123'), { epochMs: utc, zone: 'none' });
    assert.deepEqual(parseLogTimestamp('2022-06-12 13:00:00+0000 123ms'), { epochMs: utc, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12 13:00:00 +0000'), { epochMs: utc - 123, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12, 13:00:00 UTC'), { epochMs: utc - 123, zone: 'offset' });
    assert.deepEqual(parseLogTimestamp('2022-06-12, 13:00:00 BST'), {
      epochMs: utc - 123,
      zone: 'name',
      zoneName: 'BST',
    });
    assert.equal(parseLogTimestamp('yesterday'), null);
  });
});
