/**
 * Does a NotReady node's host still answer? One TCP connect to its agent's port: an accept or a
 * refusal (RST) means the host is up and only its agent is not heartbeating; no answer within the
 * timeout, or no route, means the host is down or cut off (node.lifecycle.plan.ts picks the grace).
 */
import * as net from 'node:net';

export type HostProbe = (address: string, port: number) => Promise<boolean>;

export const HOST_PROBE_TIMEOUT_MS = 1000;

export const probeHost: HostProbe = (address, port) => new Promise((resolve) => {
  const socket = net.connect({ host: address, port, timeout: HOST_PROBE_TIMEOUT_MS });
  const settle = (hostAnswered: boolean) => {
    socket.destroy();
    resolve(hostAnswered);
  };
  socket.once('connect', () => settle(true));
  socket.once('timeout', () => settle(false));
  socket.once('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNREFUSED'));
});

/** The latest answer per node, probed again every `everyMs` while asked for; one probe per node at a time. */
export class HostAnswers {
  private readonly answers = new Map<string, { answers: boolean; at: number }>();
  private readonly probing = new Set<string>();

  constructor(private readonly probe: HostProbe = probeHost, private readonly everyMs = 2000, private readonly now: () => number = Date.now) {}

  /** The latest answer for the node (undefined: none yet), starting a probe when it is due. */
  of(node: string, address: string, port: number | undefined, onAnswer: () => void): boolean | undefined {
    const last = this.answers.get(node);
    if (port && !this.probing.has(node) && (!last || this.now() - last.at >= this.everyMs)) {
      this.probing.add(node);
      void this.probe(address, port).catch(() => false).then((answers) => {
        this.probing.delete(node);
        this.answers.set(node, { answers, at: this.now() });
        onAnswer();
      });
    }
    return last?.answers;
  }

  /** The node is Ready again (or gone): its next outage is probed afresh. */
  forget(node: string): void {
    this.answers.delete(node);
  }
}
