export * from './broker/index.ts';
export * from './logs/index.ts';
export * from './metadb/index.ts';
export * from './paths/index.ts';
