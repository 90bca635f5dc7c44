/** Picks the cgroup version of this machine. The interface is in cgroup.types.ts, the versions in
 *  cgroup-v1.ts and cgroup-v2.ts; the dependency runs one way: this file → versions → shared parts. */
import * as fs from 'node:fs';
import { CgroupV1Manager } from './cgroup-v1';
import { CgroupV2Manager } from './cgroup-v2';
import { CgroupManager } from './cgroup.types';

export interface CgroupOptions {
  /** Mount point of the hierarchy (default /sys/fs/cgroup). */
  root?: string;
  /** Parent group of every container group (default "tide"). */
  parent?: string;
}

/** Pure v2 when the root itself is a v2 hierarchy, otherwise the v1 controllers. */
export function detectCgroups(options: CgroupOptions = {}): CgroupManager {
  const root = options.root ?? '/sys/fs/cgroup';
  const parent = options.parent ?? 'tide';
  if (fs.existsSync(`${root}/cgroup.controllers`)) return new CgroupV2Manager(root, parent);
  return new CgroupV1Manager(root, parent);
}
