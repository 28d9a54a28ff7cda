import { defineSection, field, z } from '@windsock/core';

/** The `containerStats` config section. */
export const containerStatsSection = defineSection('containerStats', {
  source: field(
    z.enum(['docker', 'ecs', 'cgroupfs']).default('docker'),
    'Where containers are found: the Docker engine (EC2), the ECS task metadata endpoint v4 (Fargate: no cgroupfs), or raw cgroup folders.',
    { example: 'docker' },
  ),
  dockerHost: field(
    z.string().optional(),
    'Docker engine socket or URL (default DOCKER_HOST, then /var/run/docker.sock).',
    { example: 'unix:///var/run/docker.sock' },
  ),
  cgroupRoot: field(
    z.string().optional(),
    "The host's /sys/fs/cgroup as mounted into this container (default: the mounts in /proc/self/mounts).",
    { example: '/host/sys/fs/cgroup' },
  ),
  procRoot: field(z.string().default('/proc'), "The host's /proc (container PIDs and network namespaces).", {
    example: '/host/proc',
  }),
  cgroupPrefixes: field(
    z.array(z.string().startsWith('/')).default(['/docker', '/system.slice', '/ecs']),
    'source=cgroupfs: every cgroup folder below these paths that holds processes is a container.',
    { example: '["/docker","/ecs"]' },
  ),
  metadataUri: field(
    z.string().url().optional(),
    'source=ecs: the task metadata endpoint v4 (default: ECS_CONTAINER_METADATA_URI_V4, which ECS sets in every container).',
    { example: 'http://169.254.170.2/v4/abc' },
  ),
  intervalSeconds: field(z.number().min(0.1).max(60).default(1), 'Seconds between samples.', { example: '1' }),
  samples: field(
    z.number().int().min(2).max(3600).default(120),
    'Samples kept per container (the page shows the last minute).',
    { example: '120' },
  ),
  maxContainers: field(
    z.number().int().positive().max(100_000).default(2000),
    'Cardinality guard: containers beyond this many are not tracked (counted in /status).',
    { example: '2000' },
  ),
  cloudwatchAggregates: field(
    z.boolean().default(false),
    'Publish per-minute average and maximum of CPU cores and memory working set per container through the metric sinks.',
    { example: 'true' },
  ),
});

/** The effective `containerStats` section. */
export type ContainerStatsConfig = z.output<typeof containerStatsSection.schema>;
