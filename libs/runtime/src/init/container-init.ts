/**
 * The container's init. Started by the agent inside fresh PID, mount, UTS and IPC namespaces, it is
 * PID 1 of its namespace. It builds the root filesystem (INIT_STEPS), waits until the agent has put
 * it in its cgroup, then drops to the container's user and capabilities and execs the user's command,
 * which thereby becomes PID 1.
 */
import * as fs from 'node:fs';
import { linuxSys } from '@tide/syscall';
import { GO_FD, InitConfig, STATUS_FD } from './init.config';
import { prepareRoot } from './init.steps';
import { execUserProcess } from './user-process';

/** Blocks until the agent's byte on GO_FD. libuv hands the child a non-blocking socket: make it blocking. */
function waitForGo(): void {
  linuxSys().setNonblocking(GO_FD, false);
  const byte = Buffer.alloc(1);
  if (fs.readSync(GO_FD, byte, 0, 1, null) !== 1) throw new Error('the agent went away before starting the container');
  fs.closeSync(GO_FD);
}

function main(): void {
  const sys = linuxSys();
  // The status fd must close on a successful execve (EOF tells the agent) and stay open otherwise.
  sys.setCloexec(STATUS_FD, true);
  try {
    const config = JSON.parse(process.env.TIDE_INIT ?? '') as InitConfig;
    prepareRoot(sys, config);
    waitForGo();
    // User, capabilities, no_new_privs, then execve (user-process.ts).
    execUserProcess(sys, config);
  } catch (error) {
    fs.writeSync(STATUS_FD, (error as Error).message);
    process.exit(127);
  }
}

if (require.main === module) main();
