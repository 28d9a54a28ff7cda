/** @windsock/aws: AWS client construction shared by the services. */

export { validateMetricAlarm } from './alarms.ts';
export { type AwsFailure, backoffMs, classifyAwsFailure, isRetryableAwsFailure } from './retry.ts';
export { createS3Client, parseS3Url, type S3ClientOptions, type S3Location } from './s3-client.ts';
export { type ChecksummedPart, type ChecksummedPut, encodeKey, type PutAnswer, S3Putter } from './s3-put.ts';
