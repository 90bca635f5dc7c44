/** What the runtime, the exec worker thread and the exec init tell each other. */
import { UserProcess } from '../init/user-process';

/** Given to the exec init as JSON in the TIDE_EXEC environment variable. */
export interface ExecInitConfig extends UserProcess {
  /** The process becomes the session leader of the terminal on its fds 0-2. */
  tty: boolean;
}

/** In the exec init: the runtime writes one byte once the process is in the container's cgroup. */
export const EXEC_GO_FD = 3;
/** In the exec init: the container's mount namespace, entered last (see exec-init.ts). */
export const EXEC_MNT_FD = 4;

export interface NamespaceFd {
  fd: number;
  /** CLONE_NEW* */
  type: number;
}

/** What the runtime gives the exec worker thread; the fds are the process's, opened by the runtime. */
export interface ExecWorkerData {
  execInit: string;
  /** ExecInitConfig as JSON. */
  config: string;
  /** The container's namespaces the worker thread enters before spawning (mount excluded). */
  namespaces: NamespaceFd[];
  mountNamespaceFd: number;
  /** The child's fds 0-2: pipe ends or the terminal's slave. */
  stdio: [number, number, number];
}
