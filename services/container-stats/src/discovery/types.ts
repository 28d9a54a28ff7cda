import type { ContainerInfo, SampleReader } from '../model.ts';

/** What a discovery tells the collector. */
export interface DiscoveryEvents {
  /** A container is running (new, or seen again after a resync). */
  add(info: ContainerInfo): void;
  /** It stopped or was removed: its series leave /metrics. */
  remove(key: string): void;
  /** Its name changed (docker rename). */
  rename(key: string, name: string): void;
}

/**
 * One runtime's discovery (cAdvisor's handler per runtime): it only finds and names containers;
 * `openReader` returns what reads their numbers (cgroup files, or the ECS stats of one poll).
 */
export interface Discovery {
  readonly kind: 'docker' | 'ecs' | 'cgroupfs';
  start(events: DiscoveryEvents): Promise<void>;
  stop(): Promise<void>;
  /** Called once per container when it is added. */
  openReader(info: ContainerInfo): SampleReader;
  /** Called once per tick before the readers (ECS fetches the task's stats here). */
  beforeTick?(): Promise<void>;
  status(): Record<string, unknown>;
}
