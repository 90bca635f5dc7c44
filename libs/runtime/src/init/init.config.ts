import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from '@tide/syscall';
import { NetworkMode } from '../runtime.types';

/** What the agent tells a container's init: passed as JSON in the TIDE_INIT environment variable. */
export interface InitConfig {
  hostname: string;
  rootfs: { lowerdir: string; upperdir: string; workdir: string; target: string };
  argv: string[];
  env: string[];
  workingDir: string;
  /** "uid[:gid]" or "name[:group]" resolved in the image; the spec's over the image config's; default root. */
  user?: string;
  /** Remounts the root read-only once every other mount is made. */
  readOnlyRootFilesystem?: boolean;
  /** Files of the container's state dir bind-mounted over image paths before pivot_root (bridge
   *  networking's /etc/hosts and /etc/resolv.conf). */
  bindFiles?: BindFile[];
}

export interface BindFile {
  /** On the host. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
}

/** fd 3: the agent writes one byte once the init's pid is in its cgroup. */
export const GO_FD = 3;
/** fd 4: close-on-exec; EOF means execve succeeded, text means it failed. */
export const STATUS_FD = 4;

/** What the agent gives the start worker thread. */
export interface StartWorkerData {
  initScript: string;
  /** InitConfig as JSON. */
  initConfig: string;
  logFd: number;
  namespaces: number;
}

/** The namespaces every container gets; host networking keeps the node's network namespace. */
export const CONTAINER_NAMESPACES = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;

/** The namespaces the start worker unshares for a container of this network mode (also the key of
 *  a warm pool: a pre-created init can serve only containers that want its set of namespaces). */
export function namespacesFor(network: NetworkMode | undefined): number {
  return network === 'bridge' ? CONTAINER_NAMESPACES | CLONE_NEWNET : CONTAINER_NAMESPACES;
}
