import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS } from '@tide/syscall';
import { ContainerStdio, NetworkMode } from '../runtime.types';

/**
 * What the agent tells a container's init (native/init, in C), written to CONTROL_FD once the init is
 * claimed for a container (a warm init has been waiting for it since long before the container was
 * asked for), in the encoding init.wire.ts makes.
 */
export interface InitConfig {
  hostname: string;
  /** Host path the init opens (append) and puts on its stdout and stderr, before pivot_root. */
  logPath: string;
  rootfs: { lowerdir: string; upperdir: string; workdir: string; target: string };
  argv: string[];
  env: string[];
  workingDir: string;
  /** "uid[:gid]" or "name[:group]" resolved in the image; the spec's over the image config's; default root. */
  user?: string;
  /** Remounts the root read-only once every other mount is made. */
  readOnlyRootFilesystem?: boolean;
  /** Files of the container's state dir bind-mounted over image paths before pivot_root (bridge
   *  networking's /etc/hosts and /etc/resolv.conf), and the volumes' directories and files. */
  bindFiles?: BindFile[];
  /** Send the init's step marks back before execve (the start benchmark's breakdown, start.trace.ts). */
  trace?: boolean;
  /** The seccomp filter, BPF (isolation/seccomp.ts); unset: Unconfined. */
  seccomp?: Buffer;
  /** A terminal or a stdin pipe for attaching clients (native/init/process.c); unset: /dev/null and the log. */
  stdio?: ContainerStdio;
}

export interface BindFile {
  /** On the host. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  /** A directory (a volume's) rather than a file: its mount point is a directory. */
  directory?: boolean;
  /** Remounted read-only (and nosuid, nodev) once bound. */
  readOnly?: boolean;
}

/** fd 3, the runtime's control pipe (container/init.pipes.ts): the InitConfig (init.wire.ts), then,
 *  once the init's pid is in its cgroup, one byte "go". EOF instead: the start is off (or the agent
 *  is gone), and the init exits without running anything of the user's. */
export const CONTROL_FD = 3;
/** fd 4: close-on-exec; EOF means execve succeeded, text means it failed. Before either, a container
 *  with attachable stdio names the fd of the runtime's end (container/init.pipes.ts, splitStatus). */
export const STATUS_FD = 4;
/** fd 5, the report pipe to the runtime (container/init.launcher.ts): after the launcher's line with
 *  the init's pid, the init writes READY_BYTE once booted and, for a traced start, its step marks
 *  just before execve. */
export const REPORT_FD = 5;
export const READY_BYTE = 'r';

/** The namespaces every container gets; host networking keeps the node's network namespace. */
export const CONTAINER_NAMESPACES = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;

/** The namespaces the launcher clones the init into for a container of this network mode (also the key of
 *  a warm pool: a pre-created init can serve only containers that want its set of namespaces). */
export function namespacesFor(network: NetworkMode | undefined): number {
  return network === 'bridge' ? CONTAINER_NAMESPACES | CLONE_NEWNET : CONTAINER_NAMESPACES;
}
