import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AIRFLOW2_LOG_FILENAME_TEMPLATE,
  AIRFLOW3_LOG_FILENAME_TEMPLATE,
  joinRemoteLogPath,
  LogFilenameTemplate,
  type LogPathContext,
  type LogPathTaskInstance,
  PRE_2_3_LOG_FILENAME_TEMPLATE,
  parseLogFilename,
  parseS3Url,
  pythonIsoformat,
  renderLogFilename,
  s3LogLocation,
  TemplateError,
  triggerLogPath,
} from '../../src/index.ts';

interface Case {
  name: string;
  template: string;
  context: LogPathContext;
  pendulumMajor?: 2 | 3;
  ti: LogPathTaskInstance;
  path: string;
  remoteBase: string;
  s3: { bucket: string; key: string };
}

const table = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/paths/log-paths.json'), 'utf8')) as {
  cases: Case[];
};

describe('log_filename_template rendering and S3 keys (fixture table from Airflow source)', () => {
  for (const c of table.cases) {
    it(c.name, () => {
      const options = c.pendulumMajor ? { context: c.context, pendulumMajor: c.pendulumMajor } : { context: c.context };
      const path = renderLogFilename(c.template, c.ti, options);
      assert.equal(path, c.path);
      const loc = s3LogLocation(c.remoteBase, path);
      assert.deepEqual({ bucket: loc.bucket, key: loc.key }, c.s3);
    });
  }

  it('the exported defaults are the ones in the table', () => {
    const templates = new Set(table.cases.map((c) => c.template));
    assert.ok(templates.has(AIRFLOW2_LOG_FILENAME_TEMPLATE));
    assert.ok(templates.has(AIRFLOW3_LOG_FILENAME_TEMPLATE));
    assert.ok(templates.has(PRE_2_3_LOG_FILENAME_TEMPLATE));
  });
});

describe('parsing a path back into its task instance', () => {
  it('round-trips every invertible fixture case', () => {
    for (const c of table.cases) {
      const parsed = parseLogFilename(c.template, c.path);
      assert.ok(parsed, c.name);
      if (c.template.includes('ti.dag_id') || c.template.includes('{dag_id}'))
        assert.equal(parsed.dagId, c.ti.dagId, c.name);
      if (c.template.includes('ti.task_id') || c.template.includes('{task_id}'))
        assert.equal(parsed.taskId, c.ti.taskId, c.name);
      assert.equal(parsed.tryNumber, c.ti.tryNumber, c.name);
      if (c.template.includes('ti.map_index')) assert.equal(parsed.mapIndex, c.ti.mapIndex ?? -1, c.name);
    }
  });

  it('reads the default template, mapped or not, and refuses other shapes', () => {
    const run = 'manual__2024-05-01T10:00:00+00:00';
    assert.deepEqual(
      parseLogFilename(AIRFLOW3_LOG_FILENAME_TEMPLATE, `dag_id=d/run_id=${run}/task_id=g.t/map_index=7/attempt=2.log`),
      { dagId: 'd', runId: run, taskId: 'g.t', mapIndex: 7, tryNumber: 2, trigger: false },
    );
    assert.deepEqual(
      parseLogFilename(AIRFLOW2_LOG_FILENAME_TEMPLATE, `dag_id=d/run_id=${run}/task_id=t/attempt=1.log`),
      {
        dagId: 'd',
        runId: run,
        taskId: 't',
        mapIndex: -1,
        tryNumber: 1,
        trigger: false,
      },
    );
    for (const bad of [
      'dag_id=d/run_id=r/task_id=t/attempt=x.log',
      'dag_id=d/run_id=r/task_id=t/attempt=1.txt',
      'dag_id=d/task_id=t/attempt=1.log',
      'scheduler/2024-05-01/etl.py.log',
    ]) {
      assert.equal(parseLogFilename(AIRFLOW2_LOG_FILENAME_TEMPLATE, bad), null, bad);
    }
  });

  it('reads trigger logs as their task plus the triggerer job id', () => {
    const task = 'dag_id=d/run_id=r/task_id=wait/attempt=1.log';
    assert.equal(triggerLogPath(task, 42), `${task}.trigger.42.log`);
    assert.equal(triggerLogPath(task), `${task}.trigger`);
    const parsed = parseLogFilename(AIRFLOW2_LOG_FILENAME_TEMPLATE, triggerLogPath(task, 42));
    assert.deepEqual(parsed, {
      dagId: 'd',
      runId: 'r',
      taskId: 'wait',
      mapIndex: -1,
      tryNumber: 1,
      trigger: true,
      triggererJobId: 42,
    });
  });

  it('reports the ts of pre-2.3 paths and omits values a filter changed', () => {
    assert.equal(
      parseLogFilename(PRE_2_3_LOG_FILENAME_TEMPLATE, 'd/t/2022-01-01T00:00:00+00:00/3.log')?.ts,
      '2022-01-01T00:00:00+00:00',
    );
    const breeze = table.cases.find((c) => c.template.includes('replace'))!;
    const parsed = parseLogFilename(breeze.template, breeze.path)!;
    assert.equal(parsed.runId, undefined);
    assert.equal(parsed.dagId, breeze.ti.dagId);
  });
});

describe('render contexts differ the way Airflow 3 differs', () => {
  const ti: LogPathTaskInstance = {
    dagId: 'legacy',
    taskId: 'extract',
    runId: 'r',
    tryNumber: 1,
    logicalDate: '2026-01-01T00:00:00+00:00',
  };

  it('the 3.x worker renders ts as empty (only ti is in scope), the reader does not', () => {
    assert.equal(
      renderLogFilename(PRE_2_3_LOG_FILENAME_TEMPLATE, ti, { context: 'airflow3-writer' }),
      'legacy/extract//.log',
    );
    assert.equal(
      renderLogFilename(PRE_2_3_LOG_FILENAME_TEMPLATE, ti, { context: 'airflow3-reader' }),
      'legacy/extract/2026-01-01T00:00:00+00:00/1.log',
    );
  });

  it('a 3.x str.format template with run_id fails for the worker as Airflow does (KeyError)', () => {
    assert.throws(
      () => renderLogFilename('{dag_id}/{run_id}/{try_number}.log', ti, { context: 'airflow3-writer' }),
      (e: unknown) => e instanceof TemplateError && /run_id/.test(e.message),
    );
  });

  it('2.x names such as ds are undefined (empty) for the 3.x reader, and attributes of undefined names raise', () => {
    assert.equal(
      renderLogFilename('{{ ti.dag_id }}/{{ ds }}/{{ try_number }}.log', ti, { context: 'airflow3-reader' }),
      'legacy//1.log',
    );
    assert.throws(
      () => renderLogFilename('{{ dag_run.run_id }}/{{ try_number }}.log', ti, { context: 'airflow3-reader' }),
      /undefined/,
    );
  });
});

describe('template errors are clear and early', () => {
  for (const [template, pattern] of [
    ['{{ ti.hostname }}/x.log', /ti\.hostname.*not supported/],
    ['{{ params.x }}/x.log', /variable "params"/],
    ['{{ ti.dag_id|truncate(3) }}', /filter "truncate"/],
    ['{% for x in y %}{{ x }}{% endfor %}', /statement/],
    ['{{ ti.dag_id }}{% if ti.map_index >= 0 %}', /endif/],
    ['{{ ti.dag_id.upper() }}', /not supported|calls/],
    ['{hostname}/{try_number}.log', /hostname/],
    ['{}/{try_number}.log', /field/],
  ] as const) {
    it(`rejects ${template}`, () => {
      assert.throws(() => LogFilenameTemplate.compile(template), pattern);
    });
  }

  it('asks for the logical date when a template needs it and it was not given', () => {
    assert.throws(
      () =>
        renderLogFilename(
          PRE_2_3_LOG_FILENAME_TEMPLATE,
          { dagId: 'd', taskId: 't', runId: 'r', tryNumber: 1 },
          { context: 'airflow2' },
        ),
      /logicalDate/,
    );
  });

  it('supports whitespace control, comments, elif and boolean logic', () => {
    const t = LogFilenameTemplate.compile(
      '{# per-queue #}{{- ti.dag_id -}}  /  {%- if ti.map_index > 9 and not (ti.try_number == 1) %}big{% elif ti.map_index >= 0 or false %}small{% else %}none{% endif %}/{{ ti.task_id|upper }}.log',
    );
    const base = { dagId: 'd', taskId: 't', runId: 'r', tryNumber: 2 };
    assert.equal(t.render({ ...base, mapIndex: 10 }, { context: 'airflow2' }), 'd/big/T.log');
    assert.equal(t.render({ ...base, mapIndex: 3 }, { context: 'airflow2' }), 'd/small/T.log');
    assert.equal(t.render(base, { context: 'airflow2' }), 'd/none/T.log');
  });
});

describe('S3 keys', () => {
  it('joins like os.path.join', () => {
    assert.equal(joinRemoteLogPath('s3://b/p', 'a.log'), 's3://b/p/a.log');
    assert.equal(joinRemoteLogPath('s3://b/p/', 'a.log'), 's3://b/p/a.log');
    assert.equal(joinRemoteLogPath('', 'a.log'), 'a.log');
    assert.equal(joinRemoteLogPath('s3://b/p', '/abs/a.log'), '/abs/a.log');
  });

  it('parses s3/s3a/s3n URLs like S3Hook.parse_s3_url, ? ends the key and # does not', () => {
    assert.deepEqual(parseS3Url('s3://bucket/a/b.log'), { bucket: 'bucket', key: 'a/b.log' });
    assert.deepEqual(parseS3Url('S3N://bucket//a.log'), { bucket: 'bucket', key: 'a.log' });
    assert.deepEqual(parseS3Url('s3://bucket'), { bucket: 'bucket', key: '' });
    assert.deepEqual(parseS3Url('s3://bucket/run#1/a?x=1'), { bucket: 'bucket', key: 'run#1/a' });
    assert.deepEqual(parseS3Url('https://s3.eu-west-1.amazonaws.com/bucket/k/x.log'), {
      bucket: 'bucket',
      key: 'k/x.log',
    });
    assert.throws(() => parseS3Url('gs://bucket/x'), /s3:\/\/bucket-name/);
    assert.throws(() => parseS3Url('s3:///x'), /no bucket/);
  });

  it('keeps + and : of run ids literally in the key (Airflow does not escape them)', () => {
    const loc = s3LogLocation(
      's3://b/logs',
      'dag_id=d/run_id=scheduled__2024-01-01T00:00:00+00:00/task_id=t/attempt=1.log',
    );
    assert.equal(loc.key, 'logs/dag_id=d/run_id=scheduled__2024-01-01T00:00:00+00:00/task_id=t/attempt=1.log');
    assert.equal(loc.url, 's3://b/logs/dag_id=d/run_id=scheduled__2024-01-01T00:00:00+00:00/task_id=t/attempt=1.log');
  });
});

describe('pythonIsoformat', () => {
  it("prints Python's isoformat in UTC, microseconds only when not zero", () => {
    assert.equal(pythonIsoformat(new Date(Date.UTC(2024, 0, 1))), '2024-01-01T00:00:00+00:00');
    assert.equal(pythonIsoformat(new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 5))), '2024-01-01T00:00:00.005000+00:00');
    assert.equal(pythonIsoformat('2024-01-01 00:00:00.000123+00'), '2024-01-01T00:00:00.000123+00:00');
    assert.equal(pythonIsoformat('2024-01-01T02:30:00+02:30'), '2024-01-01T00:00:00+00:00');
    assert.equal(pythonIsoformat('2024-01-01T00:00:00Z'), '2024-01-01T00:00:00+00:00');
    assert.throws(() => pythonIsoformat('tomorrow'), /ISO 8601/);
  });
});
