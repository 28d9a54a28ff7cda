/**
 * @windsock/cgroups: the numbers of a cgroup (v1 and v2) and of a network namespace, read straight
 * from the kernel's files through handles kept open, the way cAdvisor (runc's libcontainer) makes them.
 */
export { openStatFileCount, StatFile, StatFileGoneError } from './file.ts';
export {
  type CgroupMounts,
  cgroupMountsFromProc,
  cgroupMountsUnder,
  cgroupVersionFor,
  detectCgroupMounts,
  type ProcessCgroups,
  parseProcCgroup,
  V1_CONTROLLERS,
} from './hierarchy.ts';
export { NetnsReader } from './net.ts';
export { NodeReader, type NodeSample } from './node.ts';
export { openCgroupOfProcess, openCgroupPath } from './open.ts';
export {
  type DeviceIo,
  type InterfaceCounters,
  isIgnoredInterface,
  parseBlkioServiceBytes,
  parseFlatKeyed,
  parseIoStat,
  parseLimit,
  parseNetDev,
  parseNumber,
} from './parse.ts';
export {
  type CgroupReader,
  type CgroupSample,
  type CgroupSpec,
  CgroupV1Reader,
  CgroupV2Reader,
  cpuWeightToShares,
  USER_HZ,
} from './reader.ts';
