/** What Windsock knows about a container, and one sample of it. */
import type { CgroupSample, CgroupSpec, InterfaceCounters } from '@windsock/cgroups';

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

/** The numbers of one container at one instant: its cgroup's sample, when, and its network. */
export interface ContainerSample extends CgroupSample {
  /** Unix ms. */
  t: number;
  network: InterfaceCounters[];
}

/** Limits (cAdvisor's spec). `null` = unlimited (exported as 0, as cAdvisor does). */
export type ContainerSpec = CgroupSpec;

/** Reads one container's numbers; owned by the collector, closed when the container goes. */
export interface SampleReader {
  sample(now: number): ContainerSample;
  spec(): ContainerSpec;
  close(): void;
}
