/** What Windsock knows about a container, and one sample of it. */
import type { CgroupSpec, DeviceIo, InterfaceCounters } from '@windsock/cgroups';

/** A container as discovery names it (from `docker inspect`, the ECS task metadata, or a cgroup path). */
export interface ContainerInfo {
  /** The runtime's id (64-hex Docker id, ECS DockerId, or the cgroup path). */
  key: string;
  /** cAdvisor's `id` label: the cgroup path (`/docker/<id>`); for ECS on Fargate `/ecs/<task>/<DockerId>`. */
  id: string;
  /** cAdvisor's `name` label: the container name without Docker's leading slash. */
  name: string;
  image: string;
  labels: Record<string, string>;
  /** The init process (host PID namespace); absent for ECS/Fargate. */
  pid?: number;
  /** Unix seconds. */
  startedAt?: number;
}

/** The numbers of one container at one instant (cumulative counters in raw units). */
export interface ContainerSample {
  /** Unix ms. */
  t: number;
  cpuUsageNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  cfsPeriods?: number;
  cfsThrottledPeriods?: number;
  cfsThrottledNs?: number;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
  memoryRssBytes: number;
  memoryCacheBytes: number;
  memorySwapBytes: number;
  memoryMappedFileBytes: number;
  memoryMaxUsageBytes?: number;
  memoryFailcnt?: number;
  oomKills?: number;
  pids?: number;
  network: InterfaceCounters[];
  io: DeviceIo[];
}

/** Limits (cAdvisor's spec). `null` = unlimited (exported as 0, as cAdvisor does). */
export type ContainerSpec = CgroupSpec;

/** Reads one container's numbers; owned by the collector, closed when the container goes. */
export interface SampleReader {
  sample(now: number): ContainerSample;
  spec(): ContainerSpec;
  close(): void;
}
