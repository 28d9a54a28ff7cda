export * from './broker/index.ts';
export * from './logs/index.ts';
export * from './metadb/index.ts';
export * from './paths/index.ts';
export { hasTaskEndMarker, TASK_END_MARKERS } from './task-end.ts';
