/**
 * The container's init. Started by the launcher (container/init.launcher.ts) inside fresh PID, mount, UTS and IPC namespaces
 * (and network ones for bridge networking), it is PID 1 of its namespace. It boots, stages /proc,
 * /dev and /sys (STAGE_STEPS), says it is ready and waits for its InitConfig: at once for a cold
 * start, for as long as it stays in the warm pool otherwise. Then it builds the root filesystem
 * (ROOT_STEPS), takes on the container's user and capabilities, waits until the agent has put it in
 * its cgroup ("go") and execs the user's command, which thereby becomes PID 1.
 */
import * as fs from 'node:fs';
import { StartTrace, monotonicMs } from './start.trace';
import { PR_SET_PDEATHSIG, SIGKILL, Sys, linuxSys } from '@tide/syscall';
import { CONTROL_FD, InitConfig, READY_BYTE, STATUS_FD, REPORT_FD } from './init.config';
import { dropCleanFilePages } from './clean-pages';
import { Stage, prepareRoot, prepareStage } from './init.steps';
import { rehearseClaim } from './rehearsal';
import { consoleLine, openAttachableStdio } from './init.stdio';
import { execPrepared, prepareUserProcess, warmUpUserProcess } from './user-process';

/** Thrown when the agent closed a pipe instead of writing to it: exit quietly, nobody is listening. */
class AgentGone extends Error {}

/** What came through CONTROL_FD: the config line, and anything after it (a cold start's runtime
 *  may have written "go" too before the init got there). */
interface ControlRead {
  line: string;
  rest: Buffer;
}

/**
 * The config is one line of JSON (JSON.stringify never writes a raw newline): read up to the
 * newline, keeping what follows for waitForGo. EOF first: the agent is gone ('' or a cut line).
 */
function readLine(fd: number): ControlRead {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(64 * 1024);
  for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
    const piece = Buffer.from(chunk.subarray(0, n));
    const newline = piece.indexOf(0x0a);
    if (newline < 0) {
      chunks.push(piece);
      continue;
    }
    chunks.push(piece.subarray(0, newline));
    return { line: Buffer.concat(chunks).toString(), rest: piece.subarray(newline + 1) };
  }
  return { line: '', rest: Buffer.alloc(0) };
}

/**
 * Waiting in the pool, the init must die with the agent: PR_SET_PDEATHSIG (set by main) fires when
 * the parent THREAD exits, here the agent's thread that spawned the launcher (which cloned us as
 * its parent's child), so when the agent dies. The control pipe's other end is the runtime's:
 * it reads EOF when the runtime gives the init up or the agent is gone, and the init exits. Once
 * claimed the death signal is cleared: a container outlives the agent (it is adopted when the agent
 * comes back), and the setting would survive execve.
 */
function waitForConfig(sys: Sys, stage: Stage, trace: StartTrace): { config: InitConfig; rest: Buffer } {
  sys.setNonblocking(REPORT_FD, false); // blocking writes: the marks are written in one go before execve
  sys.setNonblocking(CONTROL_FD, false);
  // Pooled (no config waiting yet): time to make the claim's code warm (rehearsal.ts) and the final
  // execve cheaper (clean-pages.ts). A cold init's config is there already: it goes on at once.
  if (!sys.pollReadable(CONTROL_FD, 0)) {
    rehearseClaim(stage);
    dropCleanFilePages(sys);
    warmUpUserProcess(sys);
  }
  try {
    fs.writeSync(REPORT_FD, READY_BYTE);
  } catch {
    throw new AgentGone(); // EPIPE: the agent is gone already
  }
  trace.mark('init: ready sent');
  const { line, rest } = readLine(CONTROL_FD);
  if (line === '') throw new AgentGone();
  sys.prctl(PR_SET_PDEATHSIG, 0);
  trace.mark('init: config read');
  const config = JSON.parse(line) as InitConfig;
  // Open until the marks are sent (sendTrace), never across execve.
  if (config.trace) sys.setCloexec(REPORT_FD, true);
  else fs.closeSync(REPORT_FD);
  return { config, rest };
}

/** The init's boot, on the monotonic clock: performance's times count from the process's start. */
function bootMarks(trace: StartTrace): void {
  const origin = monotonicMs() - performance.now();
  trace.mark('init: process exec\'d (Node starts)', origin + performance.nodeTiming.nodeStart);
  trace.mark('init: Node bootstrapped', origin + performance.nodeTiming.bootstrapComplete);
  trace.mark('init: modules loaded');
}

/** A traced start's marks go back over the report pipe, the last thing before the user's command. */
function sendTrace(config: InitConfig, trace: StartTrace): void {
  if (!config.trace) return;
  trace.mark('init: execve next');
  fs.writeSync(REPORT_FD, JSON.stringify(trace.marks));
  fs.closeSync(REPORT_FD);
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

/** Blocks until the agent's "go" after the config (unless it came with it). EOF: the start is off. */
function waitForGo(rest: Buffer): void {
  const byte = rest.length > 0 ? rest : Buffer.alloc(1);
  if (rest.length === 0 && fs.readSync(CONTROL_FD, byte, 0, 1, null) !== 1) throw new Error('the agent went away before starting the container');
  fs.closeSync(CONTROL_FD);
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
    const { config, rest } = waitForConfig(sys, stage, trace);
    redirectOutput(sys, config.logPath);
    trace.mark('init: log opened');
    prepareRoot(sys, config, stage);
    if (config.stdio) fs.writeSync(STATUS_FD, consoleLine(openAttachableStdio(sys, config.stdio)));
    else containerStdin(sys);
    trace.mark('init: root built (ROOT_STEPS)');
    // User, capabilities, no_new_privs, seccomp (user-process.ts): before "go", which then leaves only execve.
    const prepared = prepareUserProcess(sys, config);
    trace.mark('init: user, capabilities, no_new_privs, seccomp set');
    waitForGo(rest);
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
