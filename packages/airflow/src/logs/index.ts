export { stripAnsi } from './ansi.ts';
export { RecordAssembler, type RecordAssemblerOptions } from './assembler.ts';
export { isTracebackStart, TRACEBACK_LINE } from './continuation.ts';
export { SentToExecutorDedupe } from './dedupe.ts';
export { extractEvents, normaliseState } from './events.ts';
export { recogniseHeader } from './header.ts';
export { formatHeartbeatToken, HEARTBEAT_TOKEN, parseHeartbeatToken } from './heartbeat.ts';
export { normaliseLevel } from './level.ts';
export { LogLineSplitter, type LogLineSplitterOptions } from './line-splitter.ts';
export {
  EVENT_MESSAGE_MARKERS,
  EVENT_MESSAGE_PREFIXES,
  QUIET_AIRFLOW2_DEBUG,
  QUIET_AIRFLOW2_INFO,
  QUIET_CELERY_DEBUG,
  QUIET_CELERY_INFO,
  type QuietKind,
  quietContinuationAt,
  quietHeaderAt,
} from './quiet.ts';
export { parseTaskCommand, parseTaskInstanceKey, parseTaskInstanceReprs, taskInstanceKey } from './task-instance.ts';
export { type ParsedLogTimestamp, parseLogTimestamp } from './timestamp.ts';
export type {
  LineKind,
  LogEvent,
  LogFormatId,
  LogLevel,
  LogRecord,
  LogRecordHeader,
  StateName,
  TaskInstanceRef,
  UnparsedReason,
} from './types.ts';
