/**
 * Backend `docker`: a pool is a set of containers on one Docker host, created from a template
 * container (image, command, entrypoint, env, mounts, network, labels incl. compose's
 * `com.docker.compose.service`). The template is only read: it may be a created-but-never-started
 * container. Each worker gets `WINDSOCK_WORKER_AGENT__WORKER_ID=<container name>` (and the pool) in
 * its environment, so the worker-agent beside it names itself the way the coordinator knows it.
 * A container is removed only once it has exited by itself.
 */
import { randomBytes } from 'node:crypto';
import { createDockerClient, type DockerClient } from '@windsock/docker';
import type { BackendWorker, PoolBackend } from './backend.ts';

/** The label every worker container of a pool carries. */
export const POOL_LABEL = 'io.windsock.worker-pool';

/** Options of {@link DockerBackend}. */
export interface DockerBackendOptions {
  pool: string;
  /** Name or id of the template container. */
  template: string;
  /** Engine: socket path or DOCKER_HOST-style URL (default: the client's default). */
  dockerHost?: string;
  /** A client to use instead of building one (tests). */
  docker?: DockerClient;
}

export class DockerBackend implements PoolBackend {
  readonly kind = 'docker';
  private readonly docker: DockerClient;
  private template?: Awaited<ReturnType<ReturnType<DockerClient['getContainer']>['inspect']>>;

  constructor(private readonly opts: DockerBackendOptions) {
    this.docker = opts.docker ?? createDockerClient(opts.dockerHost ? { host: opts.dockerHost } : {});
  }

  async workers(): Promise<BackendWorker[]> {
    const list = await this.docker.listContainers({
      all: true,
      filters: { label: [`${POOL_LABEL}=${this.opts.pool}`] },
    });
    return list.map((c) => {
      const name = (c.Names?.[0] ?? c.Id).replace(/^\//, '');
      const state: BackendWorker['state'] =
        c.State === 'running' || c.State === 'restarting' || c.State === 'paused'
          ? 'running'
          : c.State === 'created'
            ? 'starting'
            : 'gone';
      const code = /^Exited \((\d+)\)/.exec(c.Status ?? '')?.[1];
      return { id: c.Id, workerId: name, state, exitCode: code === undefined ? null : Number(code) };
    });
  }

  async add(n: number): Promise<string[]> {
    const t = await this.readTemplate();
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const base = (t.Name ?? 'worker').replace(/^\//, '');
      const name = `${base}-ws-${randomBytes(4).toString('hex')}`;
      const env = (t.Config.Env ?? []).filter(
        (e) => !e.startsWith('WINDSOCK_WORKER_AGENT__WORKER_ID=') && !e.startsWith('WINDSOCK_WORKER_AGENT__POOL='),
      );
      env.push(`WINDSOCK_WORKER_AGENT__WORKER_ID=${name}`, `WINDSOCK_WORKER_AGENT__POOL=${this.opts.pool}`);
      const hostConfig = { ...t.HostConfig } as Record<string, unknown>;
      const container = await this.docker.createContainer({
        name,
        Image: t.Config.Image,
        Cmd: t.Config.Cmd ?? undefined,
        Entrypoint: t.Config.Entrypoint ?? undefined,
        Env: env,
        WorkingDir: t.Config.WorkingDir || undefined,
        User: t.Config.User || undefined,
        Labels: { ...(t.Config.Labels ?? {}), [POOL_LABEL]: this.opts.pool },
        StopSignal: (t.Config as { StopSignal?: string }).StopSignal || undefined,
        HostConfig: hostConfig,
      });
      names.push(name);
      await container.start();
    }
    return names;
  }

  async remove(worker: BackendWorker): Promise<void> {
    if (worker.state !== 'gone') throw new Error(`refusing to remove worker ${worker.workerId}: it has not exited`);
    await this.docker.getContainer(worker.id).remove({ v: true });
  }

  async close(): Promise<void> {}

  private async readTemplate() {
    if (!this.template) {
      try {
        this.template = await this.docker.getContainer(this.opts.template).inspect();
      } catch (err) {
        const e = err as { statusCode?: number; message?: string };
        if (e.statusCode === 404) {
          throw new Error(
            `template container "${this.opts.template}" of pool "${this.opts.pool}" does not exist (docker create it, or set backend.template)`,
          );
        }
        throw err;
      }
    }
    return this.template;
  }
}
