/**
 * Runs one check of a probe against a replica: an HTTP GET or a TCP connection to the replica's
 * address (its bridge address, or the node's for host networking), or a command exec'd in its
 * container. Never throws: the outcome says whether it passed and, if not, why.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { ResolvedProbe } from '@tide/api';
import { ContainerRuntime } from '@tide/runtime';

export interface CheckTarget {
  containerId: string;
  /** Where httpGet and tcpSocket connect. */
  host: string;
}

export interface CheckOutcome {
  passed: boolean;
  /** Why it failed, as the replica's status shows it. */
  message?: string;
}

export type ProbeCheck = (target: CheckTarget, probe: ResolvedProbe) => Promise<CheckOutcome>;

/** At most this much of an exec'd command's output goes into the failure message. */
const OUTPUT_LIMIT = 200;

export function probeCheck(runtime: Pick<ContainerRuntime, 'exec'>): ProbeCheck {
  return (target, probe) => {
    const timeoutMs = Math.max(1, probe.timeoutSeconds) * 1000;
    if (probe.httpGet) return httpCheck(target.host, probe.httpGet.port, probe.httpGet.path, timeoutMs);
    if (probe.tcpSocket) return tcpCheck(target.host, probe.tcpSocket.port, timeoutMs);
    if (probe.exec) return execCheck(runtime, target.containerId, probe.exec.command, timeoutMs);
    return Promise.resolve({ passed: false, message: 'the probe has no httpGet, tcpSocket or exec' });
  };
}

/** A status from 200 to 399 passes, as in Kubernetes; redirects are not followed. */
export function httpCheck(host: string, port: number, path: string, timeoutMs: number): Promise<CheckOutcome> {
  const url = `HTTP GET http://${host}:${port}${path}`;
  return new Promise((resolve) => {
    const request = http.get({ host, port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'tide-probe/1', connection: 'close' } }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400 ? { passed: true } : { passed: false, message: `${url}: status ${status}` });
    });
    request.on('timeout', () => {
      request.destroy();
      resolve({ passed: false, message: `${url}: no answer within ${timeoutMs / 1000} s` });
    });
    request.on('error', (error) => resolve({ passed: false, message: `${url}: ${error.message}` }));
  });
}

export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (outcome: CheckOutcome) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.once('connect', () => done({ passed: true }));
    socket.once('timeout', () => done({ passed: false, message: `TCP ${host}:${port}: no connection within ${timeoutMs / 1000} s` }));
    socket.once('error', (error) => done({ passed: false, message: `TCP ${host}:${port}: ${error.message}` }));
  });
}

/** Exit code 0 passes; a command still running at the timeout is killed and failed. */
export async function execCheck(runtime: Pick<ContainerRuntime, 'exec'>, containerId: string, command: string[], timeoutMs: number): Promise<CheckOutcome> {
  const what = `exec ${JSON.stringify(command)}`;
  let session;
  try {
    session = await runtime.exec(containerId, { argv: command, tty: false });
  } catch (error) {
    return { passed: false, message: `${what}: ${(error as Error).message}` };
  }
  session.stdin.end();
  let output = '';
  const keep = (chunk: Buffer) => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
  };
  session.stdout.on('data', keep);
  session.stderr?.on('data', keep);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const exit = await Promise.race([session.exited, timedOut]);
  clearTimeout(timer);
  if (exit === 'timeout') {
    session.kill('SIGKILL');
    return { passed: false, message: `${what}: still running after ${timeoutMs / 1000} s` };
  }
  if (exit.code === 0) return { passed: true };
  const status = exit.code !== null ? `exit code ${exit.code}` : `killed by ${exit.signal}`;
  const said = output.trim().slice(0, OUTPUT_LIMIT);
  return { passed: false, message: `${what}: ${status}${said ? `: ${said}` : ''}` };
}
