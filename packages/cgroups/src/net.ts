/** Network counters of a process's network namespace, from `/proc/<pid>/net/dev` kept open. */
import { join } from 'node:path';
import { StatFile } from './file.ts';
import { type InterfaceCounters, isIgnoredInterface, parseNetDev } from './parse.ts';

/**
 * The interfaces of the netns a process is in. `sample()` returns the ones cAdvisor reports
 * (no `lo*`, `veth*`, `docker*`, `nerdctl*`); `sampleAll()` every one, loopback included.
 *
 * @example const net = new NetnsReader('/proc', 4242); net.sample(); net.close();
 */
export class NetnsReader {
  private readonly file: StatFile;

  constructor(procRoot: string, pid: number) {
    this.file = new StatFile(join(procRoot, String(pid), 'net', 'dev'));
  }

  /** Every interface, loopback included. Throws StatFileGoneError when the process exited. */
  sampleAll(): InterfaceCounters[] {
    const text = this.file.read();
    return text === undefined ? [] : parseNetDev(text);
  }

  /** The interfaces cAdvisor reports. */
  sample(): InterfaceCounters[] {
    return this.sampleAll().filter((i) => !isIgnoredInterface(i.name));
  }

  close(): void {
    this.file.close();
  }
}
