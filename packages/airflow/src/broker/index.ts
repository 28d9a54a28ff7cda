export {
  type AirflowCeleryTask,
  type AirflowTaskIdentity,
  airflowTaskCommand,
  type BuiltCeleryMessage,
  buildAirflowCeleryMessage,
  CELERY_REPR_MAXSIZE,
  type CeleryEnvelopeOptions,
  EXECUTE_COMMAND_TASK,
  EXECUTE_WORKLOAD_TASK,
  type ExecuteTaskWorkload,
  type ParsedCeleryMessage,
  parseAirflowTaskCommand,
  parseCeleryMessage,
  parseExecuteTaskWorkload,
  type UnparsedCeleryMessage,
  type WorkloadTaskInstance,
  workloadJson,
} from './celery-message.ts';
export {
  BINDING_KEY_PREFIX,
  KOMBU_SEP,
  PRIORITY_STEPS,
  priorityStep,
  queueKeyForPriority,
  queueListKeys,
  UNACKED_INDEX_KEY,
  UNACKED_KEY,
} from './kombu-keys.ts';
export {
  CeleryControl,
  type CeleryControlOptions,
  type CeleryQueueInfo,
  type CeleryTaskInfo,
  type WorkerActivity,
} from './pidbox.ts';
export { PyTuple, type PyValue, pythonJsonDumps, saferepr } from './python-text.ts';
export {
  boundQueues,
  type KombuLayoutOptions,
  pushCeleryMessage,
  queueLengths,
  type UnackedMessages,
  unackedMessages,
  unackedQueue,
} from './redis-broker.ts';
