/** @windsock/aws: AWS client construction shared by the services. */
export { createS3Client, parseS3Url, type S3ClientOptions, type S3Location } from './s3-client.ts';
