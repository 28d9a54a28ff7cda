/** @windsock/docker: the Docker engine as Windsock reads it (client, container log streams). */
export { createDockerClient, DEFAULT_DOCKER_SOCKET, type DockerClient, type DockerClientOptions } from './client.ts';
export {
  ContainerLogFollower,
  type ContainerLogFollowerOptions,
  type DockerFollowerStatus,
  DockerFrameDecoder,
  type DockerLogLine,
  type DockerLogPosition,
  type DockerStream,
  type DockerStreamCursor,
  sinceParam,
  timestampNanos,
} from './log-stream.ts';
