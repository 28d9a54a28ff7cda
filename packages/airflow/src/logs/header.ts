import { recogniseJsonHeader } from './json-line.ts';
import { isLevelWord, normaliseLevel } from './level.ts';
import type { LogFormatId, LogRecordHeader } from './types.ts';

/** A header whose 3.x console event continues on later lines: its `[logger] k=v` suffix is on the last one. */
export interface IncompleteHeader extends LogRecordHeader {
  incomplete: true;
}

// Each format costs at most one regex, and only after fixed-offset checks picked the format.
const CELERY_TASK_PREFIX = /([\w.:-]+|\?\?\?)\[([^\]\s]*)\]: /y;
const DIGIT_HEADER =
  /(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?(?: \d{1,3}ms)?) (?:\[([a-z]+) *\] ?|([A-Z]+) - ?)/y;
const STRUCTLOG_SUFFIX = /^(.*?)\s+\[([A-Za-z_][\w.-]*)\](?:\s+(.*))?$/;
// uvicorn pads `LEVEL:` to 9 columns plus one space, so the message starts at column 10 exactly.
const UVICORN_HEADER = /(?:DEBUG: {4}|INFO: {5}|WARNING: {2}|ERROR: {4}|CRITICAL: )(?=\S)/y;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** True when `line[at..]` starts with `YYYY-`, the way every timestamp Windsock accepts starts. */
function yearAt(line: string, at: number): boolean {
  return (
    isDigit(line.charCodeAt(at)) &&
    isDigit(line.charCodeAt(at + 1)) &&
    isDigit(line.charCodeAt(at + 2)) &&
    isDigit(line.charCodeAt(at + 3)) &&
    line.charCodeAt(at + 4) === 45
  );
}

function header(
  format: LogFormatId,
  timestamp: string,
  levelWord: string,
  logger: string,
  message: string,
  fields = '',
): LogRecordHeader {
  return { format, timestamp, level: normaliseLevel(levelWord), logger, message, fields };
}

/**
 * `[ts] {file.py:NN} LEVEL - msg` (and `{{...}}`), `[ts: LEVEL/Process] msg` (Celery), `[ts] [pid] [LEVEL] msg`
 * (gunicorn). The timestamp inside the brackets is only required to start with `YYYY-`, so ISO with offset,
 * `YYYY-MM-DD HH:MM:SS,mmm`, the early `... +0000 NNNms` form and the UI's `2023-09-13, 12:26:31 BST` all pass.
 */
function recogniseBracketHeader(line: string): LogRecordHeader | null {
  if (!yearAt(line, 1)) return null;
  const close = line.indexOf(']', 6);
  if (close === -1 || line.charCodeAt(close + 1) !== 32) return null;
  const after = close + 2;
  const next = line.charCodeAt(after);

  if (next === 123) {
    // `{file.py:NN}` or the MWAA/1.10 `{{file.py:NN}}`
    const double = line.charCodeAt(after + 1) === 123;
    const loggerStart = after + (double ? 2 : 1);
    const loggerEnd = line.indexOf('}', loggerStart);
    if (loggerEnd === -1) return null;
    let pos = loggerEnd + 1;
    if (double) {
      if (line.charCodeAt(pos) !== 125) return null;
      pos++;
    }
    if (line.charCodeAt(pos) !== 32) return null;
    const levelStart = pos + 1;
    const levelEnd = line.indexOf(' ', levelStart);
    const end = levelEnd === -1 ? line.length : levelEnd;
    const levelWord = line.slice(levelStart, end);
    if (!isLevelWord(levelWord)) return null;
    // `LEVEL - msg`; an empty message leaves `LEVEL - ` or, trimmed by some pipelines, `LEVEL -`.
    let message = '';
    if (levelEnd !== -1) {
      if (line.charCodeAt(levelEnd + 1) !== 45) return null;
      message = line.slice(levelEnd + 3);
    }
    return header(
      double ? 'airflow-mwaa' : 'airflow2',
      line.slice(1, close),
      levelWord,
      line.slice(loggerStart, loggerEnd),
      message,
    );
  }

  // Celery: the bracket holds `asctime: LEVEL/processName`; its message may itself start with `[`.
  const colon = line.lastIndexOf(': ', close);
  const slash = colon < 6 ? -1 : line.indexOf('/', colon + 2);
  const levelWord = slash === -1 || slash > close ? '' : line.slice(colon + 2, slash);
  if (!isLevelWord(levelWord)) return next === 91 ? recogniseGunicorn(line, close, after) : null;
  const timestamp = line.slice(1, colon);
  const processName = line.slice(slash + 1, close);
  CELERY_TASK_PREFIX.lastIndex = after;
  const task = CELERY_TASK_PREFIX.exec(line);
  if (task) {
    const h = header('celery-task', timestamp, levelWord, processName, line.slice(CELERY_TASK_PREFIX.lastIndex));
    h.celeryTaskName = task[1];
    h.celeryTaskId = task[2];
    return h;
  }
  return header('celery', timestamp, levelWord, processName, line.slice(after));
}

/** gunicorn's error log: `[2024-01-01 00:00:00 +0000] [12] [INFO] Booting worker with pid: 12`. */
function recogniseGunicorn(line: string, close: number, after: number): LogRecordHeader | null {
  const pidEnd = line.indexOf('] [', after);
  if (pidEnd === -1) return null;
  for (let i = after + 1; i < pidEnd; i++) if (!isDigit(line.charCodeAt(i))) return null;
  const levelStart = pidEnd + 3;
  const levelEnd = line.indexOf(']', levelStart);
  if (levelEnd === -1) return null;
  const levelWord = line.slice(levelStart, levelEnd);
  if (!isLevelWord(levelWord)) return null;
  return header('gunicorn', line.slice(1, close), levelWord, line.slice(after + 1, pidEnd), line.slice(levelEnd + 2));
}

/**
 * Lines that start with the timestamp: `simple_log_format` (`ts LEVEL - msg`) and structlog's console
 * renderer (`ts [info     ] event   [logger] k=v loc=f.py:N`, 3.1+ with `Z`, 3.0.0 without zone or loc).
 */
function recogniseDigitHeader(line: string): LogRecordHeader | null {
  if (!yearAt(line, 0)) return null;
  DIGIT_HEADER.lastIndex = 0;
  const m = DIGIT_HEADER.exec(line);
  if (!m) return null;
  const rest = line.slice(DIGIT_HEADER.lastIndex);
  if (m[3] !== undefined) {
    if (!isLevelWord(m[3])) return null;
    return header('airflow2-simple', m[1]!, m[3], '', rest);
  }
  const levelWord = m[2]!;
  if (!isLevelWord(levelWord)) return null;
  const suffix = STRUCTLOG_SUFFIX.exec(rest);
  if (suffix) return header('airflow3-console', m[1]!, levelWord, suffix[2]!, suffix[1]!, suffix[3] ?? '');
  // No `[logger]` yet: a multi-line event whose suffix comes on its last physical line.
  const h = header('airflow3-console', m[1]!, levelWord, '', rest.trimEnd()) as IncompleteHeader;
  h.incomplete = true;
  return h;
}

/**
 * Parse the `[logger] k=v ... loc=f.py:N` suffix that ends the last physical line of a multi-line 3.x
 * console event. Returns null when the line has no suffix (the event goes on).
 */
export function structlogSuffix(line: string): { text: string; logger: string; fields: string } | null {
  const m = STRUCTLOG_SUFFIX.exec(line);
  return m ? { text: m[1]!, logger: m[2]!, fields: m[3] ?? '' } : null;
}

/**
 * Recognise a header line of any supported format, or return null. The line must already be free of
 * ANSI codes, the trailing CR and any process-manager prefix. Dispatch is on the first character, then
 * fixed offsets, with at most one regex per format.
 *
 * @example
 * recogniseHeader('[2024-05-01T10:00:00.123+0000] {taskinstance.py:1206} ERROR - Task failed')?.level // 'ERROR'
 */
export function recogniseHeader(line: string): LogRecordHeader | null {
  const c = line.charCodeAt(0);
  if (c === 91) return recogniseBracketHeader(line);
  if (c >= 48 && c <= 57) return recogniseDigitHeader(line);
  if (c === 123) return recogniseJsonHeader(line);
  if (c >= 65 && c <= 90) {
    // uvicorn's `%(levelprefix)s %(message)s`: `INFO:     Started server process [7]`
    UVICORN_HEADER.lastIndex = 0;
    const m = UVICORN_HEADER.exec(line);
    if (m) return header('uvicorn', '', line.slice(0, line.indexOf(':')), 'uvicorn', line.slice(10));
  }
  return null;
}

/** True when the header is a 3.x console event whose `[logger]` suffix has not been seen yet. */
export function isIncomplete(h: LogRecordHeader): h is IncompleteHeader {
  return (h as Partial<IncompleteHeader>).incomplete === true;
}
