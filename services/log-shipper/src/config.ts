import { airflowConfigSection } from '@windsock/airflow/config';
import { awsConfigSection } from '@windsock/aws/config';
import { defineSection, field, z } from '@windsock/core';
import { metricsConfigSection } from '@windsock/metrics/config';
import { DEFAULT_END_MARKERS } from './finish.ts';

const processLogs = z
  .object({
    directory: field(z.string().min(1), 'Folder of rotated process logs (scheduler, worker, triggerer).', {
      example: '/opt/airflow/logs/scheduler',
    }),
    include: field(z.array(z.string().min(1)).default(['**/*.log*']), 'Globs relative to the folder.', {
      example: '["**/*.log*"]',
    }),
    remotePrefix: field(
      z.string().regex(/^s3:\/\/[^/]+/, 'expected an S3 URL like s3://bucket/prefix'),
      'Where these go: <remotePrefix>/<shipperId>/<relative path>.<first-seen UTC stamp> (one object per file generation).',
      { example: 's3://my-airflow-logs/process/scheduler' },
    ),
  })
  .strict();

/** The `logShipper` config section. */
export const logShipperSection = defineSection(
  'logShipper',
  {
    shipperId: field(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/)
        .optional(),
      'Names this host in keys of its own (sibling keys, process logs). Default: the hostname.',
      { example: 'worker-1a2b' },
    ),
    taskLogInclude: field(
      z.array(z.string()).default(['**/*.log']),
      'Task-log globs relative to the base log folder.',
      {
        example: '["**/*.log"]',
      },
    ),
    taskLogExclude: field(
      z.array(z.string()).default(['scheduler/**', 'dag_processor_manager/**', 'dag_processor/**']),
      'Globs under the base log folder that are not task logs.',
      { example: '["scheduler/**"]' },
    ),
    processLogs: field(z.array(processLogs).default([]), 'Rotated process logs to ship, each with its own prefix.', {
      example: '[{"directory":"/opt/airflow/logs/scheduler","remotePrefix":"s3://logs/process/scheduler"}]',
    }),
    airflowUploads: field(
      z.enum(['off', 'on', 'auto']).default('auto'),
      "Whether Airflow's own S3 upload also runs on workers: off (recommended: REMOTE_LOGGING=False on workers), on (watch keys after each final upload and undo Airflow's duplicating append), auto (like off until an append is seen, then on).",
      { example: 'off' },
    ),
    airflowWatchSeconds: field(
      z.number().min(0).max(3600).default(30),
      "How long after a final upload to watch the key for Airflow's append (when airflowUploads is on).",
      { example: '30' },
    ),
    liveIntervalSeconds: field(
      z.number().min(0.2).max(300).default(2),
      'Fewest seconds between two uploads of a growing log (S3 then trails the file by about this plus one upload).',
      { example: '2' },
    ),
    scanIntervalSeconds: field(
      z.number().min(1).max(3600).default(30),
      'Full rescan of every folder (the safety net behind native watching).',
      { example: '30' },
    ),
    watch: field(z.boolean().default(true), 'Native file watching (inotify) besides the scans.', { example: 'true' }),
    finishQuietSeconds: field(
      z.number().min(1).max(86_400).default(300),
      'A log unchanged this long is treated as finished (final upload, retention may follow).',
      { example: '300' },
    ),
    endMarkers: field(
      z.array(z.string()).default([...DEFAULT_END_MARKERS]),
      "Regular expressions for a task log's last lines; a match means finished (final upload within 2 s).",
      { example: '["Task exited with return code"]' },
    ),
    finishOnMetadbState: field(
      z.boolean().default(false),
      "Also ask the metadb (airflow.databaseUrl) whether an attempt ended: paths are parsed with the run's log_template (templates without run_id cannot be asked).",
      { example: 'true' },
    ),
    maxConcurrentUploads: field(z.number().int().min(1).max(512).default(32), 'Uploads in flight at once.', {
      example: '32',
    }),
    multipartThresholdMb: field(z.number().min(5).max(5000).default(16), 'Files this large or larger go up in parts.', {
      example: '16',
    }),
    partSizeMb: field(
      z.number().min(5).max(5000).default(8),
      'Multipart part size (grown to stay within 10,000 parts).',
      {
        example: '8',
      },
    ),
    partsInFlight: field(z.number().int().min(1).max(64).default(4), 'Parts of one multipart upload sent at once.', {
      example: '4',
    }),
    multipartMemoryMb: field(
      z.number().min(5).max(16_384).default(64),
      'Part buffers held in memory across all multipart uploads (bounds memory with many large files).',
      { example: '64' },
    ),
    retryAttempts: field(
      z.number().int().min(1).max(20).default(6),
      'Attempts per S3 request before the file is retried later.',
      {
        example: '6',
      },
    ),
    requestTimeoutSeconds: field(z.number().min(1).max(600).default(30), 'Abort an S3 request idle this long.', {
      example: '30',
    }),
    sse: field(z.enum(['none', 'AES256', 'aws:kms']).default('none'), 'Server-side encryption of uploaded objects.', {
      example: 'aws:kms',
    }),
    kmsKeyId: field(z.string().min(1).optional(), 'KMS key for sse = aws:kms (default: the bucket key / aws/s3).', {
      example: 'arn:aws:kms:eu-west-1:123456789012:key/…',
    }),
    tags: field(z.record(z.string(), z.string()).default({}), 'Object tags added to every upload.', {
      example: '{"team":"data"}',
    }),
    deleteAfterShipped: field(
      z.boolean().default(false),
      "Delete a local log after its final version is confirmed in S3 (like Airflow's delete_local_logs).",
      { example: 'true' },
    ),
    retainSeconds: field(z.number().min(0).default(3600), 'Keep a shipped log locally this long before deleting it.', {
      example: '3600',
    }),
    diskPressureFreePercent: field(
      z.number().min(0).max(100).default(10),
      'Below this free space on the log filesystem, confirmed final logs are deleted at once.',
      { example: '10' },
    ),
    fsyncJournal: field(
      z.boolean().default(false),
      'fsync journal records soon after each confirmation, grouped (survives power loss, not only crashes); a final record is always on disk before retention deletes its file.',
      { example: 'false' },
    ),
  },
  { uses: [awsConfigSection, airflowConfigSection, metricsConfigSection] },
);

/** The parsed `logShipper` section. */
export type LogShipperConfig = z.output<typeof logShipperSection.schema>;
