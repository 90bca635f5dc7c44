/**
 * The last steps before the user's program runs in an exec session (exec/exec-init.ts): inside the
 * container's root, after the agent's "go". It never returns. The container's own init does the same
 * in C (native/init/process.c and user.c): the two follow the same order and answer the same.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLOSE_RANGE_CLOEXEC, PR_SET_DUMPABLE, Sys, SyscallError } from '@tide/syscall';
import { dropPrivileges } from './capabilities';
import { resolveUser, withHome } from './user';

export interface UserProcess {
  argv: string[];
  env: string[];
  workingDir: string;
  /** "uid[:gid]" or "name[:group]"; default root. */
  user?: string;
  /** The seccomp filter (BPF, base64: isolation/seccomp.ts) installed last before execve; none when unset (Unconfined). */
  seccomp?: string;
}

/** A failure before or at execve, with the exit status a shell would give it (127 not found, 126 otherwise). */
export class ExecFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
  ) {
    super(message);
    this.name = 'ExecFailure';
  }
}

/**
 * Every lookup happens before the privileges drop (the image's /etc/passwd, PATH, the working dir
 * may be readable by root only); then the identity and capabilities change, and execve.
 */
export function execUserProcess(sys: Sys, process: UserProcess): never {
  const { user, env, executable } = as126(() => {
    const user = resolveUser(process.user);
    const env = withHome(process.env, user);
    return { user, env, executable: resolveExecutable(process.argv[0], env) };
  });
  as126(() => {
    enterWorkingDir(sys, process.workingDir);
    // The highest capability this kernel knows: the bounding set is dropped up to it.
    const lastCapability = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    // Before the capabilities drop to the container's: from then on the container's root could open
    // this process's /proc/PID/{exe,mem,root,fd} (our Node binary, memory not yet under seccomp).
    sys.prctl(PR_SET_DUMPABLE, 0);
    dropPrivileges(sys, user, lastCapability);
  });
  // Node opens every fd close-on-exec, the stdio ones included: the user's process needs 0-2. Any
  // other fd (Node's own, or one a library left without the flag) closes at execve (CVE-2024-21626).
  sys.closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC);
  for (const fd of [0, 1, 2]) sys.setCloexec(fd, false);
  // Last before execve: the filter is the calling thread's (Node's others are free), and this thread
  // has nothing left to do but execve, which the profile allows.
  if (process.seccomp) as126(() => sys.seccompSetFilter(Buffer.from(process.seccomp!, 'base64')));
  try {
    return sys.execve(executable, process.argv, env);
  } catch (error) {
    const code = error instanceof SyscallError && error.code === 'ENOENT' ? 127 : 126;
    throw new ExecFailure((error as Error).message, code);
  }
}

/**
 * chdir, then a check that the working dir is inside the root: a path through a host fd that
 * leaked in (/proc/self/fd/N, CVE-2024-21626) would leave the process outside it, which getcwd
 * reports as "(unreachable)...".
 */
export function enterWorkingDir(sys: Sys, workingDir: string): void {
  sys.chdir(workingDir);
  if (!sys.getcwd().startsWith('/')) throw new Error(`working directory ${workingDir} is outside the container's root`);
}

/** Any failure but a missing command is 126, as in shells. */
function as126<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ExecFailure) throw error;
    throw new ExecFailure((error as Error).message, 126);
  }
}

/** Finds argv[0] on the container's PATH; called after pivot_root, so it looks inside the image. */
export function resolveExecutable(command: string, env: string[]): string {
  if (command.includes('/')) return command;
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';
  for (const dir of pathVar.split(':')) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  throw new ExecFailure(`executable "${command}" not found in the image (PATH=${pathVar})`, 127);
}
