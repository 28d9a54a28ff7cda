export { CgroupSampleReader } from './cgroup-reader.ts';
export { CgroupfsDiscovery, type CgroupfsDiscoveryOptions } from './cgroupfs.ts';
export { DockerDiscovery, type DockerDiscoveryOptions } from './docker.ts';
export type { Discovery, DiscoveryEvents } from './types.ts';
