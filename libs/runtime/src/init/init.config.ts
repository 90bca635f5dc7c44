import { CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from '@tide/syscall';

/** What the agent tells a container's init: passed as JSON in the TIDE_INIT environment variable. */
export interface InitConfig {
  hostname: string;
  rootfs: { lowerdir: string; upperdir: string; workdir: string; target: string };
  argv: string[];
  env: string[];
  workingDir: string;
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

/** Host networking for now: no network namespace of its own. */
export const CONTAINER_NAMESPACES = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
