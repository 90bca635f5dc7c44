/**
 * The agent's side of the AgentService protocol: register, heartbeat, the stream of desired replicas,
 * status reports. The agent's gRPC adapter: the rest of the agent sees domain values only (libs/api's
 * agent.protocol.ts), converted here by libs/proto's mapper. Any failure (the control plane down, the
 * stream broken, the node unknown to it) leads back to registering again, with backoff; the
 * containers keep running meanwhile, since a control plane outage is no reason to stop anything.
 * Every call goes over mutual TLS with the node's certificate; a renewed certificate replaces the
 * channel (useCredentials) and the session starts again on the new one.
 */
import * as grpc from '@grpc/grpc-js';
import { LocalVolumeStatus, NodeAssignments, NodeRegistration, NodeStatusReport, NodeUsageReport, PublishedEndpoints, RegistrationAnswer, UsageReportAck } from '@tide/api';
import {
  AgentServiceClient, RegisterResponse__Output, UsageAck__Output, decodeAssignments, decodeEndpoints, decodeRegistrationAnswer, decodeUsageAck,
  encodeHeartbeat, encodeRegistration, encodeStatusReport, encodeUsageReport, loadAgentProto,
} from '@tide/proto';
import type { NodeCredentials } from '../identity/node.identity';
import type { ClusterFence, FenceRefusal } from './cluster.fence';
import { BackoffPolicy, backoffDelayMs } from '../reconcile/backoff.policy';

export interface ControlPlaneClientOptions {
  /** host:port of the gRPC endpoint, or several comma-separated: on failure the next one is tried. */
  address: string;
  /** The node's certificate and key, and the cluster CA the control plane's certificate must come from. */
  credentials: NodeCredentials;
  /** Who the node is; the images are added from `images()`. */
  registration: Omit<NodeRegistration, 'images'>;
  /** After each successful registration, before assignments are watched (the node's network is set up here). */
  onRegistered?(answer: RegistrationAnswer): Promise<void>;
  onAssignments(assignments: NodeAssignments): void;
  /** The ready endpoints of every published port (kept as they are while the control plane is away). */
  onEndpoints?(endpoints: PublishedEndpoints): void;
  /** The report to send now. */
  report(): NodeStatusReport;
  /** The control plane received a report carrying these gone keys. */
  onReportAcknowledged(report: NodeStatusReport): void;
  log(line: string): void;
  fullReportIntervalMs?: number;
  /**
   * The cluster's identity and the last applied revision (cluster.fence.ts): a control plane of
   * another cluster is not registered with, and a set it refuses never reaches onAssignments.
   */
  fence?: ClusterFence;
  /**
   * The control plane acknowledged a registration or heartbeat sent at `sentAt` (performance.now()):
   * the node's lease lives until at least `sentAt` + its length (`leaseSeconds`, given on registration).
   */
  onAcknowledged?(sentAt: number, leaseSeconds?: number): void;
  /** A desired set the fence refused, or a control plane it would not register with (for the refusals metric). */
  onRefused?(refusal: FenceRefusal): void;
  /**
   * The refs of the images the node has: sent on registration, and on a heartbeat whenever they
   * differ from what the control plane last acknowledged (the scheduler's image locality).
   */
  images?(): Promise<string[]>;
  /**
   * The named local volumes on the node with their sizes: sent on the first heartbeat after each
   * registration, then whenever they differ from what the control plane last acknowledged.
   */
  localVolumes?(): LocalVolumeStatus[];
  /** The node's DiskPressure condition, sent with every heartbeat while it holds. */
  diskPressure?(): { message: string; sinceMs: number } | undefined;
}

const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000 };
const CALL_DEADLINE_MS = 5000;
const DEFAULT_HEARTBEAT_MS = 2000;
/** A refusal repeated word for word is logged again after this long, not at every message. */
const REFUSAL_LOG_MS = 60_000;

export class ControlPlaneClient {
  private client: AgentServiceClient;
  private readonly addresses: string[];
  private current = 0;
  /** Bumped on every (re)connection: callbacks of an older session are ignored. */
  private session = 0;
  private failedAttempts = 0;
  private timers: NodeJS.Timeout[] = [];
  private streams: grpc.ClientReadableStream<unknown>[] = [];
  private reporting = false;
  private reportAgain = false;
  private closed = false;
  private connected = false;
  /** The image list the control plane acknowledged last, as sorted refs joined by newlines. */
  private acknowledgedImages?: string;
  /** The local volumes the control plane acknowledged this session (JSON); undefined: none yet. */
  private acknowledgedVolumes?: string;
  private lastRefusal = { reason: '', at: 0 };
  private lastFailure = '';

  constructor(private readonly options: ControlPlaneClientOptions) {
    this.addresses = options.address.split(',');
    this.credentials = options.credentials;
    this.client = this.clientFor(this.addresses[0]);
  }

  private credentials: NodeCredentials;

  private clientFor(address: string): AgentServiceClient {
    const proto = loadAgentProto();
    const { ca, key, certificate } = this.credentials;
    const channel = grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(key), Buffer.from(certificate));
    return new proto.tide.v1.AgentService(address, channel) as unknown as AgentServiceClient;
  }

  /** A renewed certificate: a new channel with it, and the session starts again (streams included). */
  useCredentials(credentials: NodeCredentials): void {
    this.credentials = credentials;
    if (this.closed) return;
    const old = this.client;
    this.resetSession();
    this.client = this.clientFor(this.address);
    old.close();
    void this.connect();
  }

  /** Asks the control plane for a new certificate (the current one authenticates the call). */
  renewCertificate(csr: string): Promise<{ certificate: string; ca: string }> {
    return this.call<{ certificate: string; ca: string }>((done) => this.client.RenewCertificate({ csr }, this.deadline(), done));
  }

  /** Asks for a new HTTPS serving certificate for the node's registered address (the client certificate authenticates the call). */
  renewServingCertificate(csr: string): Promise<{ certificate: string; ca: string }> {
    return this.call<{ certificate: string; ca: string }>((done) => this.client.RenewServingCertificate({ csr }, this.deadline(), done));
  }

  /** The control plane currently talked to. */
  get address(): string {
    return this.addresses[this.current];
  }

  /** After a failure with several control planes, the next attempt goes to the next one. */
  private failOver(): void {
    if (this.addresses.length < 2) return;
    this.client.close();
    this.current = (this.current + 1) % this.addresses.length;
    this.client = this.clientFor(this.address);
  }

  start(): void {
    void this.connect();
  }

  isConnected(): boolean {
    return this.connected;
  }

  close(): void {
    this.closed = true;
    this.resetSession();
    this.client.close();
  }

  /** Sends the current status; reports asked for while one is in flight are folded into one more. */
  async reportNow(): Promise<void> {
    if (this.closed || !this.connected) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = true;
    try {
      const report = this.options.report();
      await this.call<object>((done) => this.client.ReportStatus(encodeStatusReport(report), this.deadline(), done));
      this.options.onReportAcknowledged(report);
    } catch (error) {
      this.options.log(`status report failed: ${(error as Error).message}`);
    } finally {
      this.reporting = false;
    }
    if (this.reportAgain) {
      this.reportAgain = false;
      await this.reportNow();
    }
  }

  /**
   * The connection usage reports go over now, undefined while there is none. A new one (another
   * control plane, or the same one after an outage) may hold none of what the last one acknowledged.
   */
  usageSession(): number | undefined {
    return this.closed || !this.connected ? undefined : this.session;
  }

  /**
   * Sends a usage report (usage.reporter.ts) if `session` is still the current one: a delta built
   * against what one connection acknowledged must not reach another. The control plane's answer;
   * undefined when the report was not sent or not answered. A lost report is not retried: the next
   * one replaces it.
   */
  async reportUsage(report: NodeUsageReport, session: number): Promise<UsageReportAck | undefined> {
    if (this.usageSession() !== session) return undefined;
    try {
      return decodeUsageAck(await this.call<UsageAck__Output>((done) => this.client.ReportUsage(encodeUsageReport(report), this.deadline(), done)));
    } catch {
      return undefined;
    }
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const session = this.resetSession();
    try {
      const images = await this.currentImages();
      const clusterId = this.options.fence?.current.clusterId;
      const registration = encodeRegistration({ ...this.options.registration, images: images ?? [], ...(clusterId ? { clusterId } : {}) });
      const sentAt = performance.now();
      const response = await this.call<RegisterResponse__Output>((done) => this.client.Register(registration, this.deadline(), done));
      if (session !== this.session) return;
      this.acknowledgedImages = images ? images.join('\n') : undefined;
      this.acknowledgedVolumes = undefined;
      const answer = decodeRegistrationAnswer(response);
      const verdict = this.options.fence?.registered(answer.clusterId);
      if (verdict && !verdict.ok) {
        this.options.onRefused?.(verdict.refusal);
        throw new Error(verdict.reason);
      }
      await this.options.onRegistered?.(answer);
      if (session !== this.session) return;
      if (this.failedAttempts > 0) this.options.log(`control plane at ${this.address} reachable again`);
      this.failedAttempts = 0;
      this.connected = true;
      this.options.onAcknowledged?.(sentAt, answer.leaseTtlSeconds);
      this.options.log(`registered with the control plane at ${this.address}`);
      const heartbeatMs = Math.max(200, answer.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS);
      this.watch(session);
      this.timers.push(setInterval(() => this.heartbeat(session), heartbeatMs));
      this.timers.push(setInterval(() => void this.reportNow(), this.options.fullReportIntervalMs ?? 10_000));
      await this.reportNow();
    } catch (error) {
      if (session === this.session) this.retryLater(session, `cannot register: ${(error as Error).message}`);
    }
  }

  /** Leaves the current session: timers, stream. Returns the new session number. */
  private resetSession(): number {
    this.connected = false;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const stream of this.streams.splice(0)) stream.cancel();
    return ++this.session;
  }

  private retryLater(session: number, why: string): void {
    if (this.closed || session !== this.session) return;
    this.resetSession();
    this.failedAttempts++;
    const delayMs = backoffDelayMs(this.failedAttempts, RECONNECT_BACKOFF);
    // One line at the start of an outage, when the reason changes, and then every 10 attempts, not one per attempt.
    if (this.failedAttempts === 1 || this.failedAttempts % 10 === 0 || why !== this.lastFailure) {
      this.lastFailure = why;
      this.options.log(`control plane ${this.address}: ${why}; retrying in ${delayMs} ms (attempt ${this.failedAttempts})`);
    }
    this.failOver();
    this.timers.push(setTimeout(() => void this.connect(), delayMs));
  }

  private heartbeat(session: number): void {
    void this.currentImages().then((images) => {
      if (session !== this.session) return;
      const changed = images !== undefined && images.join('\n') !== this.acknowledgedImages;
      const diskPressure = this.options.diskPressure?.();
      const volumes = this.currentVolumes();
      const volumesJson = volumes && JSON.stringify(volumes);
      const volumesChanged = volumesJson !== undefined && volumesJson !== this.acknowledgedVolumes;
      const request = encodeHeartbeat({
        nodeName: this.options.registration.nodeName, ...(changed ? { images } : {}), ...(diskPressure ? { diskPressure } : {}),
        ...(volumesChanged ? { localVolumes: volumes } : {}),
      });
      const sentAt = performance.now();
      this.client.Heartbeat(request, this.deadline(), (error, response) => {
        if (session !== this.session) return;
        if (error) return this.retryLater(session, `heartbeat failed: ${error.message}`);
        if (response?.known) this.options.onAcknowledged?.(sentAt);
        if (!response?.known) {
          this.options.log('the control plane does not know this node (its lease expired): registering again');
          void this.connect();
        } else {
          if (changed) this.acknowledgedImages = images.join('\n');
          if (volumesChanged) this.acknowledgedVolumes = volumesJson;
        }
      });
    });
  }

  /** The local volumes, or undefined when the node cannot tell (nothing is sent). */
  private currentVolumes(): LocalVolumeStatus[] | undefined {
    try {
      return this.options.localVolumes?.();
    } catch (error) {
      this.options.log(`cannot list the node's local volumes: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Sorted image refs, or undefined when the node cannot tell (its store unreadable: nothing is sent). */
  private async currentImages(): Promise<string[] | undefined> {
    if (!this.options.images) return undefined;
    try {
      return [...new Set(await this.options.images())].sort();
    } catch (error) {
      this.options.log(`cannot list the node's images: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** The two streams of a session: desired replicas, and the endpoints of the published ports. */
  private watch(session: number): void {
    const nodeName = this.options.registration.nodeName;
    // The node list comes only when it changed (nodesWhenChanged): the stream's last one is kept here,
    // so that every set the agent sees is whole. A new stream's first message always carries it.
    let nodes: NodeAssignments['nodes'] | undefined;
    this.follow(session, 'assignment', this.client.WatchAssignments({ nodeName, nodesWhenChanged: true }), decodeAssignments, (message) => {
      if (message.nodesUnchanged && !nodes) return this.options.log('ignored an assignment message: it keeps a node list this stream never sent');
      const { nodesUnchanged, ...assignments } = message;
      if (nodesUnchanged) assignments.nodes = nodes!;
      else nodes = assignments.nodes;
      this.assignmentsArrived(assignments);
    });
    const onEndpoints = this.options.onEndpoints;
    if (onEndpoints) this.follow(session, 'endpoints', this.client.WatchEndpoints({ nodeName }), decodeEndpoints, onEndpoints);
  }

  /** A set the fence refuses is dropped: the containers stay as the last applied set left them. */
  private assignmentsArrived(assignments: NodeAssignments): void {
    const verdict = this.options.fence?.admit(assignments);
    if (!verdict || verdict.ok) return this.options.onAssignments(assignments);
    this.options.onRefused?.(verdict.refusal);
    const now = Date.now();
    if (verdict.reason === this.lastRefusal.reason && now - this.lastRefusal.at < REFUSAL_LOG_MS) return;
    this.lastRefusal = { reason: verdict.reason, at: now };
    this.options.log(`${verdict.reason} (from ${this.address})`);
  }

  /** A message that cannot be read is skipped: the agent keeps the last set it read until the next one. */
  private follow<M, T>(session: number, name: string, stream: grpc.ClientReadableStream<M>, decode: (message: M) => T, onData: (value: T) => void): void {
    this.streams.push(stream as grpc.ClientReadableStream<unknown>);
    stream.on('data', (message: M) => {
      if (session !== this.session) return;
      let value: T;
      try {
        value = decode(message);
      } catch (error) {
        return this.options.log(`ignored an ${name} message: ${(error as Error).message}`);
      }
      onData(value);
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (error.code !== grpc.status.CANCELLED) this.retryLater(session, `${name} stream: ${error.message}`);
    });
    stream.on('end', () => this.retryLater(session, `${name} stream ended`));
  }

  private deadline(): grpc.CallOptions {
    return { deadline: Date.now() + CALL_DEADLINE_MS };
  }

  private call<T>(invoke: (done: (error: grpc.ServiceError | null, response?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => invoke((error, response) => (error ? reject(error) : resolve(response as T))));
  }
}
