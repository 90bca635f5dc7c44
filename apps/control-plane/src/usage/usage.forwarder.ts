/**
 * Sends every usage report this control plane recorded from an agent to each other control plane
 * (peer) of the cluster, so that each of them holds every agent's samples (UsageCache). Never a report
 * a peer forwarded here: forwarding is one hop, there are no loops.
 *
 * Per peer: reports go in the order they were recorded, one call in flight, from a bounded backlog.
 * A delta applies only on the set the peer holds, so the forwarder keeps which nodes' sets each peer
 * holds (its answers say so). A delta for a node the peer does not hold (it refused the last one, a
 * report of that node was dropped from a full backlog, a call failed, or the peer is new) goes as a
 * full report rendered from this instance's cache at the time it is sent (UsageCache.fullReport),
 * which also stands for every older report of that node still waiting. A failing peer never slows
 * the agents: forward() only queues; a failed call empties that peer's backlog and pauses it.
 */
import { NodeUsageReport, UsageReportAck } from '@tide/api';

/** Another control plane, as its directory entry names it. */
export interface UsagePeer {
  id: string;
  /** Its gRPC endpoint (host:port). */
  address: string;
}

/** One peer's channel: ForwardUsage over mutual TLS (peers/peer.client.ts). */
export interface PeerLink {
  forward(report: NodeUsageReport): Promise<UsageReportAck>;
  close(): void;
}

export interface UsageForwarderOptions {
  /** The sets this instance holds: full reports for peers that lack one are rendered from it. */
  held: { fullReport(nodeName: string): NodeUsageReport | undefined };
  connect(peer: UsagePeer): PeerLink;
  /** A failed call (peer unreachable, refused...): counted and logged by the owner. */
  onError(peer: string, error: Error): void;
  /** A report dropped from a full backlog (the node's next goes full). */
  onDropped(peer: string): void;
  /** Reports waiting per peer; past it the oldest is dropped. */
  maxBacklog?: number;
  /** After a failed call, the pause before that peer is sent to again. */
  retryMs?: number;
  /** How that pause is waited (tests hold it until they let it end). */
  sleep?: (ms: number) => Promise<void>;
}

/** About a second of reports from 1,000 agents. */
export const DEFAULT_FORWARD_BACKLOG = 1000;
const DEFAULT_RETRY_MS = 1000;

export class UsageForwarder {
  private readonly peers = new Map<string, PeerQueue>();

  constructor(private readonly options: UsageForwarderOptions) {}

  /** The current peers (this instance excluded): new ones are connected, gone or moved ones closed. */
  setPeers(peers: readonly UsagePeer[]): void {
    const wanted = new Map(peers.map((peer) => [peer.id, peer]));
    for (const [id, queue] of this.peers) {
      if (wanted.get(id)?.address === queue.peer.address) continue;
      queue.close();
      this.peers.delete(id);
    }
    for (const peer of wanted.values()) {
      if (!this.peers.has(peer.id)) this.peers.set(peer.id, new PeerQueue(peer, this.options));
    }
  }

  /** The peers reports go to now. */
  peerIds(): string[] {
    return [...this.peers.keys()].sort();
  }

  /** A report an agent sent here and this instance recorded; queued for every peer, never awaited. */
  forward(report: NodeUsageReport): void {
    for (const queue of this.peers.values()) queue.push(report);
  }

  close(): void {
    for (const queue of this.peers.values()) queue.close();
    this.peers.clear();
  }
}

/** One peer's backlog and what it holds. */
class PeerQueue {
  private readonly backlog: NodeUsageReport[] = [];
  /** The nodes whose complete set the peer holds, as of the last report of each it took. */
  private readonly holds = new Set<string>();
  private inFlight?: { node: string; superseded: boolean };
  private sending = false;
  private closed = false;
  private readonly link: PeerLink;
  private readonly maxBacklog: number;

  constructor(readonly peer: UsagePeer, private readonly options: UsageForwarderOptions) {
    this.link = options.connect(peer);
    this.maxBacklog = options.maxBacklog ?? DEFAULT_FORWARD_BACKLOG;
  }

  push(report: NodeUsageReport): void {
    if (this.closed) return;
    if (this.backlog.length >= this.maxBacklog) {
      this.forget(this.backlog.shift()!.nodeName);
      this.options.onDropped(this.peer.id);
    }
    this.backlog.push(report);
    void this.drain();
  }

  close(): void {
    this.closed = true;
    this.backlog.length = 0;
    this.link.close();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    while (!this.closed && this.backlog.length > 0) {
      const report = this.next();
      if (report && !(await this.send(report))) await (this.options.sleep ?? pause)(this.options.retryMs ?? DEFAULT_RETRY_MS);
    }
    this.sending = false;
  }

  /**
   * The oldest report, as the peer can take it: a delta on a set it does not hold becomes the node's
   * full set as held now, which covers every older report of that node still waiting (dropped here).
   * Undefined when this instance no longer holds the node either (it went quiet).
   */
  private next(): NodeUsageReport | undefined {
    const report = this.backlog.shift()!;
    if (!report.delta || this.holds.has(report.nodeName)) return report;
    for (let i = this.backlog.length - 1; i >= 0; i--) {
      if (this.backlog[i].nodeName === report.nodeName) this.backlog.splice(i, 1);
    }
    return this.options.held.fullReport(report.nodeName);
  }

  /** One call; false when it failed (the backlog is then emptied: every node's next report goes full). */
  private async send(report: NodeUsageReport): Promise<boolean> {
    const node = report.nodeName;
    this.inFlight = { node, superseded: false };
    try {
      const ack = await this.link.forward(report);
      if (ack.holdsFullSet && !this.inFlight.superseded) this.holds.add(node);
      else this.holds.delete(node);
      return true;
    } catch (error) {
      if (this.closed) return true;
      this.holds.clear();
      this.backlog.length = 0;
      this.options.onError(this.peer.id, error as Error);
      return false;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** A report of the node will not reach the peer: its set there is behind until a full one. */
  private forget(node: string): void {
    this.holds.delete(node);
    if (this.inFlight?.node === node) this.inFlight.superseded = true;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
