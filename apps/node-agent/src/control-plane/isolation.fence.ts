/**
 * The agent's isolation fence: a host cut off from the cluster stops its own replicas by the time
 * the control plane may replace them, so that a replacement never runs beside a copy that still
 * serves (a host that is merely partitioned is alive: its containers would otherwise run on, and
 * come back beside their replacements).
 *
 * When is the agent cut off, rather than the control plane down (when stopping anything would turn a
 * control plane outage into a workload outage, which Tide never does)? Its lease has run out (no
 * heartbeat acknowledged for the lease's length, counted from when the last acknowledged one was
 * sent, so that the agent's deadline falls before etcd's) AND it reaches none of its peers: a TCP
 * connect to each peer's agent port, where an accept or a refusal both mean the host answered.
 * Peers reachable: the control plane is the one away (or only the path to it): the replicas stay,
 * and if the control plane does replace them, the agent stops its copies as soon as it hears the new
 * set. No peers known (a one-node cluster): nowhere for replicas to go, never fenced. This is the
 * rule of medik8s' self-node-remediation (a node that reaches neither the API server nor its peers
 * remediates itself); Tide stops the replicas rather than rebooting the host.
 *
 * Timeline with the defaults (lease 5 s, heartbeat 1.25 s, grace 2 s): probes start 2.5 s after
 * the last acknowledged heartbeat was sent, the replicas are killed at 5 s, and the control plane,
 * which sees the lease expire at 5 s or later, replaces them 2 s after that at the earliest.
 */
import * as net from 'node:net';

export interface Peer {
  address: string;
  port: number;
}

/** Probe rounds start at most this often (a round whose peers refuse at once is over in a millisecond). */
const PROBE_INTERVAL_MS = 500;

export type IsolationVerdict = 'connected' | 'probe' | 'wait' | 'fence';

/**
 * The pure decision. `sinceAckMs`: since the last acknowledged heartbeat was sent (undefined: never
 * registered); `peers`: how many peers are known; `peersReachable`: the latest probe's answer, taken
 * after the heartbeats stopped (undefined: none yet).
 */
export function isolationVerdict(input: { sinceAckMs?: number; leaseMs: number; peers: number; peersReachable?: boolean }): IsolationVerdict {
  const { sinceAckMs, leaseMs, peers, peersReachable } = input;
  if (sinceAckMs === undefined || peers === 0 || sinceAckMs < leaseMs / 2) return 'connected';
  if (sinceAckMs < leaseMs) return 'probe';
  if (peersReachable === undefined) return 'probe';
  return peersReachable ? 'wait' : 'fence';
}

export interface IsolationFenceOptions {
  /** The peers to probe (every other node's agent port, from the last desired set). */
  peers(): Peer[];
  /** Stops every replica of the node at once and runs none until a control plane sends a set. */
  fence(): void;
  log(line: string): void;
  /** True when the host answered (accepted or refused) within the timeout. */
  probe?(peer: Peer): Promise<boolean>;
  now?(): number;
  /** How often the verdict is taken. */
  tickMs?: number;
}

/** A connect that ends in an accept or a refusal: the host answered. */
export function tcpAnswers(peer: Peer, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: peer.address, port: peer.port, timeout: timeoutMs });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
  });
}

export class IsolationFence {
  private leaseMs = 0;
  private lastAckSentAt?: number;
  private peersReachable?: boolean;
  private probing = false;
  private lastProbeAt = -Infinity;
  private fenced = false;
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly probe: (peer: Peer) => Promise<boolean>;

  constructor(private readonly options: IsolationFenceOptions) {
    this.now = options.now ?? (() => performance.now());
    this.probe = options.probe ?? ((peer) => tcpAnswers(peer));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** A heartbeat (or a registration) sent at `sentAt` (this fence's clock) was acknowledged; `leaseSeconds` from the registration. */
  acknowledged(sentAt: number, leaseSeconds?: number): void {
    if (leaseSeconds) this.leaseMs = leaseSeconds * 1000;
    if (this.lastAckSentAt === undefined || sentAt > this.lastAckSentAt) this.lastAckSentAt = sentAt;
    this.peersReachable = undefined;
    if (this.fenced) this.options.log('the control plane acknowledges the node again: its desired set decides what runs');
    this.fenced = false;
  }

  /** Takes the verdict now (the timer calls it; tests call it with their clock). */
  tick(): IsolationVerdict {
    const sinceAckMs = this.lastAckSentAt === undefined || this.leaseMs === 0 ? undefined : this.now() - this.lastAckSentAt;
    const peers = this.options.peers().length;
    const verdict = isolationVerdict({ sinceAckMs, leaseMs: this.leaseMs, peers, ...(this.peersReachable !== undefined ? { peersReachable: this.peersReachable } : {}) });
    if (verdict === 'probe' || verdict === 'wait') this.probeSoon();
    if (verdict === 'fence' && !this.fenced) {
      this.fenced = true;
      this.options.log(`cut off: no heartbeat acknowledged for ${((sinceAckMs ?? 0) / 1000).toFixed(1)} s (the lease is ${this.leaseMs / 1000} s) and none of ${peers} peer(s) answers: stopping every replica, the control plane replaces them`);
      this.options.fence();
    }
    return verdict;
  }

  /** Probes every peer at once (one round at a time); any answer means the host is not cut off. */
  private probeSoon(): void {
    if (this.probing || this.now() - this.lastProbeAt < PROBE_INTERVAL_MS) return;
    this.probing = true;
    this.lastProbeAt = this.now();
    const started = this.lastAckSentAt;
    void Promise.all(this.options.peers().map((peer) => this.probe(peer).catch(() => false))).then((answers) => {
      this.probing = false;
      // A heartbeat acknowledged meanwhile makes this round moot.
      if (started !== this.lastAckSentAt) return;
      const reachable = answers.some(Boolean);
      if (reachable !== this.peersReachable && reachable) this.options.log('no heartbeat acknowledged, but peers answer: the control plane is away, the replicas stay');
      this.peersReachable = reachable;
    });
  }
}
