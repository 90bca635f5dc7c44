/**
 * The container's init. Started by a start worker inside fresh PID, mount, UTS and IPC namespaces
 * (and network ones for bridge networking), it is PID 1 of its namespace. It boots, stages /proc,
 * /dev and /sys (STAGE_STEPS), says it is ready and waits for its InitConfig: at once for a cold
 * start, for as long as it stays in the warm pool otherwise. Then it builds the root filesystem
 * (ROOT_STEPS), takes on the container's user and capabilities, waits until the agent has put it in
 * its cgroup ("go") and execs the user's command, which thereby becomes PID 1.
 */
import * as fs from 'node:fs';
import { StartTrace, monotonicMs } from '../container/start.trace';
import { PR_SET_PDEATHSIG, SIGKILL, Sys, linuxSys } from '@tide/syscall';
import { CONFIG_FD, GO_FD, InitConfig, READY_BYTE, STATUS_FD } from './init.config';
import { dropCleanFilePages } from './clean-pages';
import { prepareRoot, prepareStage } from './init.steps';
import { execPrepared, prepareUserProcess, warmUpUserProcess } from './user-process';

/** Thrown when the agent closed a pipe instead of writing to it: exit quietly, nobody is listening. */
class AgentGone extends Error {}

/**
 * The config is one line of JSON (JSON.stringify never writes a raw newline): reading up to the
 * newline, not to EOF, spares the wait for the worker's shutdown of the socket, which libuv makes
 * only after the write has completed. EOF first: the agent is gone ('' or a cut line).
 */
function readLine(fd: number): string {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(64 * 1024);
  for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
    chunks.push(Buffer.from(chunk.subarray(0, n)));
    if (chunk[n - 1] === 0x0a) return Buffer.concat(chunks).toString();
  }
  return '';
}

/**
 * Waiting in the pool, the init must die with the agent: PR_SET_PDEATHSIG (set by main) fires when
 * the parent THREAD exits, here the start worker that spawned us, which lives until the container
 * exits or the pool is drained (or the agent dies). If that thread was gone before prctl, the config
 * socket is at EOF and the read below ends the init as well. Once claimed the death signal is
 * cleared: a container outlives the agent (it is adopted when the agent comes back), and the setting
 * would survive execve.
 */
function waitForConfig(sys: Sys, trace: StartTrace): InitConfig {
  sys.setNonblocking(CONFIG_FD, false); // libuv hands the child non-blocking sockets
  // Pooled (no config waiting yet): time to make the final execve cheaper (clean-pages.ts). A cold
  // init's config is there already: it goes on at once.
  if (!sys.pollReadable(CONFIG_FD, 0)) {
    dropCleanFilePages(sys);
    warmUpUserProcess(sys);
  }
  try {
    fs.writeSync(CONFIG_FD, READY_BYTE);
  } catch {
    throw new AgentGone(); // EPIPE: the start worker is gone already
  }
  trace.mark('init: ready sent');
  const text = readLine(CONFIG_FD);
  if (text === '') throw new AgentGone();
  sys.prctl(PR_SET_PDEATHSIG, 0);
  trace.mark('init: config read');
  const config = JSON.parse(text) as InitConfig;
  // Open until the marks are sent (sendTrace), never across execve.
  if (config.trace) sys.setCloexec(CONFIG_FD, true);
  else fs.closeSync(CONFIG_FD);
  return config;
}

/** The init's boot, on the monotonic clock: performance's times count from the process's start. */
function bootMarks(trace: StartTrace): void {
  const origin = monotonicMs() - performance.now();
  trace.mark('init: process exec\'d (Node starts)', origin + performance.nodeTiming.nodeStart);
  trace.mark('init: Node bootstrapped', origin + performance.nodeTiming.bootstrapComplete);
  trace.mark('init: modules loaded');
}

/** A traced start's marks go back over the config socket, the last thing before the user's command. */
function sendTrace(config: InitConfig, trace: StartTrace): void {
  if (!config.trace) return;
  trace.mark('init: execve next');
  fs.writeSync(CONFIG_FD, JSON.stringify(trace.marks));
  fs.closeSync(CONFIG_FD);
}

/** The container's stdout and stderr: its log file, opened before pivot_root hides the host's paths.
 *  A file, not a pipe: the container keeps writing its log while no agent runs. */
function redirectOutput(sys: Sys, logPath: string): void {
  const fd = fs.openSync(logPath, 'a', 0o600);
  sys.dup2(fd, 1);
  sys.dup2(fd, 2);
  fs.closeSync(fd);
}

/** stdin was the host's /dev/null (spawned with 'ignore'): the container's own replaces it, so
 *  that no fd of the workload refers to a host mount but the log (CVE-2024-21626 class). */
function containerStdin(sys: Sys): void {
  const fd = fs.openSync('/dev/null', 'r');
  sys.dup2(fd, 0);
  fs.closeSync(fd);
}

/** Blocks until the agent's byte on GO_FD. libuv hands the child a non-blocking socket: make it blocking. */
function waitForGo(): void {
  linuxSys().setNonblocking(GO_FD, false);
  const byte = Buffer.alloc(1);
  if (fs.readSync(GO_FD, byte, 0, 1, null) !== 1) throw new Error('the agent went away before starting the container');
  fs.closeSync(GO_FD);
}

function main(): void {
  const trace = new StartTrace();
  bootMarks(trace);
  const sys = linuxSys();
  // The status fd must close on a successful execve (EOF tells the agent) and stay open otherwise.
  sys.setCloexec(STATUS_FD, true);
  trace.mark('init: koffi and libc loaded');
  // Set first thing: the death signal must cover the staging as well (waitForConfig says why).
  sys.prctl(PR_SET_PDEATHSIG, SIGKILL);
  try {
    // Before the config: a pooled init has this done when it is claimed.
    const stage = prepareStage(sys, process.argv[2]);
    trace.mark('init: /proc, /dev, /sys staged (STAGE_STEPS)');
    const config = waitForConfig(sys, trace);
    redirectOutput(sys, config.logPath);
    trace.mark('init: log opened');
    prepareRoot(sys, config, stage);
    containerStdin(sys);
    trace.mark('init: root built (ROOT_STEPS)');
    // User, capabilities, no_new_privs, seccomp (user-process.ts): before "go", which then leaves only execve.
    const prepared = prepareUserProcess(sys, config);
    trace.mark('init: user, capabilities, no_new_privs, seccomp set');
    waitForGo();
    trace.mark('init: go received');
    sendTrace(config, trace);
    execPrepared(sys, prepared);
  } catch (error) {
    if (error instanceof AgentGone) process.exit(0);
    fs.writeSync(STATUS_FD, (error as Error).message);
    process.exit(127);
  }
}

if (require.main === module) main();
