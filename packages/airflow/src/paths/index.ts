export { COMPONENTS, dagFromPath, inferComponent } from './component.ts';
export { pythonIsoformat } from './dates.ts';
export { TemplateError } from './jinja.ts';
export {
  AIRFLOW2_LOG_FILENAME_TEMPLATE,
  AIRFLOW3_LOG_FILENAME_TEMPLATE,
  LogFilenameTemplate,
  type LogPathContext,
  type LogPathTaskInstance,
  type ParsedLogPath,
  PRE_2_3_LOG_FILENAME_TEMPLATE,
  parseLogFilename,
  type RenderLogFilenameOptions,
  renderLogFilename,
  triggerLogPath,
} from './log-filename.ts';
export { joinRemoteLogPath, parseS3Url, type S3Location, type S3LogLocation, s3LogLocation } from './s3.ts';
