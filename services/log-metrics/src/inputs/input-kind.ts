/** What an input path names: a container's log stream (`docker://<name or id>`), stdin (`-`), or files. */

/** The path prefix that names a container instead of a file. */
export const DOCKER_INPUT_PREFIX = 'docker://';

/** Whether an input path names a Docker container. */
export function isContainerInput(path: string): boolean {
  return path.startsWith(DOCKER_INPUT_PREFIX);
}
