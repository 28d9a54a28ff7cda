import Docker from 'dockerode';

/** A Docker engine client (dockerode). */
export type DockerClient = Docker;

/** Where the Docker engine listens. */
export interface DockerClientOptions {
  /** A unix socket path, or a `DOCKER_HOST`-style URL (`unix:///var/run/docker.sock`, `tcp://host:2375`). */
  host?: string | undefined;
}

/** The engine's default socket, as the docker CLI uses it. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * A dockerode client for `host` (default {@link DEFAULT_DOCKER_SOCKET}; a config key that names the engine
 * falls back to `DOCKER_HOST` through the config loader's `fallbackEnv`).
 *
 * @example const docker = createDockerClient({ host: 'unix:///var/run/docker.sock' })
 */
export function createDockerClient(opts: DockerClientOptions = {}): Docker {
  const host = opts.host ?? DEFAULT_DOCKER_SOCKET;
  if (host.startsWith('/')) return new Docker({ socketPath: host });
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host);
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`docker host ${host}: expected a socket path, unix:///path or tcp://host:port`);
  }
  return new Docker({
    host: url.hostname,
    port: Number(url.port || 2375),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  });
}
