/**
 * Runs a host tool (ip, nsenter, a shell) as the agent's child without forking the agent: Sys.spawn
 * is posix_spawn, which glibc does with clone(CLONE_VM|CLONE_VFORK). child_process forks, and a
 * fork of an agent of 300 MB copies its page tables on the event loop's thread and then makes the
 * agent take a copy-on-write fault for every page it writes until the child execs: a bridge
 * container's wiring paid that on every start (docs/BENCHMARKS.md, density).
 * Its exit is reaped through its pidfd by an ExitWatcher of this module's own (SIGCHLD-driven).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { linuxSys } from '@tide/syscall';
import { ExitWatcher } from './exit.watcher';
import { ProcessHandle, openChildPidfd } from './process';

export interface ToolResult {
  /** The exit code, null when a signal ended it. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

let toolExits: ExitWatcher | undefined;

/** Runs `file` with `args` (and the agent's environment), `input` on its stdin (else /dev/null). Rejects
 *  only when it cannot be started (a SyscallError naming the file); an exit code is the caller's to judge. */
export function runTool(file: string, args: string[], input?: string): Promise<ToolResult> {
  const sys = linuxSys();
  const stdin = input === undefined ? undefined : sys.pipe();
  const stdout = sys.pipe();
  const stderr = sys.pipe();
  const env = Object.entries(process.env).map(([name, value]) => `${name}=${value}`);
  const childEnds = [stdin?.[0], stdout[1], stderr[1]].filter((fd): fd is number => fd !== undefined);
  let pid: number;
  try {
    pid = sys.spawn(file, [path.basename(file), ...args], env, [stdin?.[0] ?? null, stdout[1], stderr[1]]);
  } catch (error) {
    for (const fd of [stdin?.[1], stdout[0], stderr[0]]) if (fd !== undefined) fs.closeSync(fd);
    return Promise.reject(error);
  } finally {
    for (const fd of childEnds) fs.closeSync(fd); // the child has its copies (or there is no child)
  }
  const handle = ProcessHandle.ofChild(sys, pid, openChildPidfd(sys, pid));
  const exited = (toolExits ??= new ExitWatcher(sys)).watch(handle, true).then((exit) => {
    handle.close();
    return exit ?? { code: null, signal: null };
  });
  if (stdin && input !== undefined) {
    const socket = new net.Socket({ fd: stdin[1], readable: false, writable: true });
    socket.on('error', () => undefined); // a tool that fails early stops reading: its exit says why
    socket.end(input);
  }
  return Promise.all([exited, readAll(stdout[0]), readAll(stderr[0])]).then(([exit, out, err]) => ({ ...exit, stdout: out, stderr: err }));
}

/** Everything written to a pipe until its last writer closes it. */
function readAll(fd: number): Promise<string> {
  const socket = new net.Socket({ fd, readable: true, writable: false });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve) => {
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => resolve(text));
  });
}
