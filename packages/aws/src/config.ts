/** The `aws` config section: what every AWS client Windsock builds shares. Imports no SDK. */
import { defineSection, field, type SectionConfig, z } from '@windsock/core';

/** The `aws` section: every service that talks to CloudWatch or S3 uses it. */
export const awsConfigSection = defineSection('aws', {
  region: field(z.string().min(1).optional(), 'AWS region (default: the SDK chain, AWS_REGION).', {
    example: 'eu-west-1',
  }),
  endpoint: field(z.string().url().optional(), 'Endpoint override for every AWS client (tests, VPC endpoints).', {
    example: 'http://127.0.0.1:5000',
  }),
  s3Endpoint: field(
    z.string().url().optional(),
    'Endpoint override for S3 only (MinIO, moto); when set, or when aws.endpoint is, S3 requests are path-style.',
    { example: 'http://127.0.0.1:5000', fallbackEnv: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] },
  ),
});

/** The effective `aws` section. */
export type AwsConfig = SectionConfig<typeof awsConfigSection>;

declare module '@windsock/core' {
  interface RegisteredConfig {
    aws: AwsConfig;
  }
}
