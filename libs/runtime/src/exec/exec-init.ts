/**
 * The exec init: spawned by the exec worker inside the container's PID, UTS, IPC (and network)
 * namespaces but in the host's mount namespace. It waits until the runtime has put it in the
 * container's cgroup, enters the container's mount namespace, becomes the container's user with its
 * capabilities, and execs the command. A failure is written to its stderr (the session's) and ends it
 * with 127 (command not found) or 126, as a shell would.
 */
import * as fs from 'node:fs';
import { CLONE_FS, CLONE_NEWNS, TIOCSCTTY, linuxSys } from '@tide/syscall';
import { ExecFailure, execUserProcess } from '../init/user-process';
import { EXEC_GO_FD, EXEC_MNT_FD, ExecInitConfig } from './exec.config';

function waitForGo(): void {
  linuxSys().setNonblocking(EXEC_GO_FD, false);
  const byte = Buffer.alloc(1);
  if (fs.readSync(EXEC_GO_FD, byte, 0, 1, null) !== 1) throw new ExecFailure('the runtime went away before the exec started', 126);
  fs.closeSync(EXEC_GO_FD);
}

/**
 * The order:
 * 1. setsid: the process leaves the agent's session and process group (a signal to those must not
 *    reach it) and can then take a controlling terminal: TIOCSCTTY on the slave it has as fd 0.
 * 2. unshare(CLONE_FS), setns(mount): the kernel refuses setns(CLONE_NEWNS) to a thread whose root and
 *    cwd (fs_struct) are shared, and every thread of Node shares them; unsharing gives this thread its
 *    own copy, and setns then moves its root and cwd to the container's root.
 * 3. execUserProcess: user, working dir, capabilities, no_new_privs, execve (user-process.ts).
 */
function main(): void {
  const sys = linuxSys();
  try {
    const config = JSON.parse(process.env.TIDE_EXEC ?? '') as ExecInitConfig;
    waitForGo();
    sys.setsid();
    if (config.tty) sys.ioctl(0, TIOCSCTTY, 0);
    sys.unshare(CLONE_FS);
    sys.setns(EXEC_MNT_FD, CLONE_NEWNS);
    fs.closeSync(EXEC_MNT_FD);
    execUserProcess(sys, config);
  } catch (error) {
    fs.writeSync(2, `tide exec: ${(error as Error).message}\n`);
    process.exit(error instanceof ExecFailure ? error.exitCode : 126);
  }
}

if (require.main === module) main();
