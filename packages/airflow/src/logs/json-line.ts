import { isLevelWord, normaliseLevel } from './level.ts';
import type { LogRecordHeader } from './types.ts';

/**
 * Read the string value of `"key": "..."` from a JSON object line without parsing the whole line.
 * Returns undefined when the key is absent or its value is not a string; escapes are decoded with
 * JSON.parse on just that value.
 */
function stringField(line: string, quotedKey: string): string | undefined {
  let at = line.indexOf(quotedKey);
  if (at === -1) return undefined;
  at += quotedKey.length;
  while (line.charCodeAt(at) === 32) at++;
  if (line.charCodeAt(at) !== 58) return undefined;
  at++;
  while (line.charCodeAt(at) === 32) at++;
  if (line.charCodeAt(at) !== 34) return undefined;
  const start = at + 1;
  let escaped = false;
  for (let i = start; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 92) {
      escaped = true;
      i++;
    } else if (c === 34) {
      if (!escaped) return line.slice(start, i);
      try {
        return JSON.parse(line.slice(start - 1, i + 1)) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Keys whose presence makes event extraction need the decoded object. */
const NEEDS_OBJECT = ['"final_state"', '"error_detail"', '"exception"', '"exc_text"'];

/**
 * Recognise a JSON log line: Airflow 3 task logs (`timestamp`, `level`, `event`, `logger`) and Airflow 2's
 * `JSONFormatter` (`asctime`, `levelname`, `message`, `filename`, the `[elasticsearch] json_fields`).
 * The hot fields are read in place; the line is only fully decoded when it carries keys that events
 * need (a final state, an exception), and a line that is not a JSON object with a level is not a header.
 */
export function recogniseJsonHeader(line: string): LogRecordHeader | null {
  let end = line.length - 1;
  while (end > 0 && line.charCodeAt(end) === 32) end--;
  if (line.charCodeAt(end) !== 125) return null;

  let level = stringField(line, '"level"');
  let v3 = true;
  if (level === undefined) {
    level = stringField(line, '"levelname"');
    v3 = false;
  }
  if (level === undefined || !isLevelWord(level)) return null;

  let json: Record<string, unknown> | undefined;
  for (const key of NEEDS_OBJECT) {
    if (line.indexOf(key) !== -1) {
      try {
        json = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return null;
      }
      break;
    }
  }

  const h: LogRecordHeader = v3
    ? {
        format: 'airflow3-json',
        timestamp: stringField(line, '"timestamp"') ?? '',
        level: normaliseLevel(level),
        logger: stringField(line, '"logger"') ?? '',
        message: stringField(line, '"event"') ?? '',
        fields: '',
      }
    : {
        format: 'airflow2-json',
        timestamp: stringField(line, '"asctime"') ?? '',
        level: normaliseLevel(level),
        logger: stringField(line, '"filename"') ?? stringField(line, '"name"') ?? '',
        message: stringField(line, '"message"') ?? '',
        fields: '',
      };
  if (json) h.json = json;
  return h;
}

/** True when a JSON record carries an exception: 3.x `error_detail`/`exception`, or a traceback in the text. */
export function jsonRecordHasTraceback(h: LogRecordHeader): boolean {
  const json = h.json;
  if (json && (json.error_detail != null || json.exception != null || json.exc_text != null)) return true;
  return h.message.indexOf('Traceback (most recent call last):') !== -1;
}
