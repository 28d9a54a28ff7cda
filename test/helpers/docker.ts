/** Containers on the test stack's private Docker engine (busybox, no network), removed by `cleanup()`. */
import { createDockerClient, type DockerClient } from '@windsock/docker';
import type Docker from 'dockerode';
import { testStack } from './stack.ts';

/** The engine, its image, and a way to run a shell script in a container that `cleanup()` removes. */
export async function testDocker(): Promise<{
  docker: DockerClient;
  image: string;
  socketPath: string;
  run(name: string, script: string, opts?: { tty?: boolean; start?: boolean }): Promise<Docker.Container>;
  cleanup(): Promise<void>;
}> {
  const stack = await testStack();
  const docker = createDockerClient({ host: `unix://${stack.docker.socketPath}` });
  const made: string[] = [];
  return {
    docker,
    image: stack.docker.image,
    socketPath: stack.docker.socketPath,
    async run(name, script, opts = {}) {
      const c = await docker.createContainer({
        name,
        Image: stack.docker.image,
        Cmd: ['sh', '-c', script],
        Tty: opts.tty ?? false,
        HostConfig: { NetworkMode: 'none', Memory: 64 * 1024 * 1024, NanoCpus: 500_000_000 },
      });
      made.push(c.id);
      if (opts.start !== false) await c.start();
      return c;
    },
    async cleanup() {
      for (const id of made) {
        await docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined);
      }
    },
  };
}
