/**
 * The AgentService gRPC server, the control plane's gRPC adapter: mutual TLS only (a client
 * certificate of the cluster CA is required), the caller's node taken from that certificate and held
 * to NodeRestriction (agent.authorization.ts) on every call and stream. It decodes each request into
 * @tide/api's agent protocol types and encodes each answer and stream message (libs/proto's mapper),
 * and hands the work to one part per job: NodeRegistrar (register, heartbeat), AssignmentsPublisher
 * (each node's desired replicas), EndpointsPublisher (published ports), StatusReports (status, each node's reports in order),
 * UsageCache (usage samples, each recorded report handed to the UsageForwarder for the other control
 * planes) and NodeEnrollment (certificate renewal). A node whose certificates are revoked (`tsctl node
 * delete`) has its open streams ended with UNAUTHENTICATED. The same endpoint serves PeerService to the
 * other control planes (peers/peer.grpc.ts); their certificate is refused on every AgentService call.
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { NodeUsageReport, PublishedEndpoints } from '@tide/api';
import {
  AgentServiceHandlers, Assignments, AssignmentsEncoder, Endpoints, decodeHeartbeat, decodeRegistration, decodeStatusReport, decodeUsageReport,
  RotatingCertificates, encodeEndpoints, encodeRegistrationAnswer, encodeUsageAck, loadAgentProto, passBytes, rotatingServerCredentials,
} from '@tide/proto';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { NodeEnrollment } from '../node-identity/node.enrollment';
import { UsageReportCounter, peerServiceDefinition, peerServiceHandlers } from '../peers/peer.grpc';
import { StatusReports } from '../status.report';
import { UsageCache } from '../usage/usage.cache';
import { NodeCaller, authorizeRegistration, authorizeStatusReport, callerOf, grpcRefusal } from './agent.authorization';
import { AgentStream } from './agent.stream';
import { AssignmentsPublisher, ConfigSource } from './assignments.publisher';
import { NodeRegistrar, NodeRegistrarOptions } from './node.registrar';

/** The registrar's needs (etcd, cache, leases, events, pod CIDRs, heartbeat interval), and the rest. */
export interface AgentServiceOptions extends NodeRegistrarOptions {
  /** Started and closed by its owner (control-plane.ts), not by this server. */
  endpoints: EndpointsPublisher;
  /** Where usage samples go; without it they are dropped. */
  usage?: UsageCache;
  /** Sends each report recorded from an agent to the other control planes (usage.forwarder.ts); never those they forward here. */
  forwarder?: { forward(report: NodeUsageReport): void };
  /** Counts the usage reports recorded, by source (tide_usage_reports_total). */
  usageReports?: UsageReportCounter;
  /** Signs renewed node certificates. */
  enrollment: NodeEnrollment;
  /** The cluster's identity (ensureClusterIdentity): answered at registration and carried by every desired set. */
  clusterId?: string;
  /** The ConfigMaps and Secrets: each node's set carries those its replicas name. */
  configs?: ConfigSource;
}

/** The server's TLS: the cluster CA (clients must present a certificate it signed) and the serving pair. */
export interface AgentServerTls {
  ca: string;
  certificate: string;
  key: string;
}

interface OpenStream {
  node: string;
  serial: string;
  fail(error: grpc.ServiceError): void;
}

type AuthenticatedCall = { getAuthContext(): { sslPeerCertificate?: PeerCertificate } };

export class AgentGrpcServer {
  private readonly server = new grpc.Server();
  private readonly registrar: NodeRegistrar;
  private readonly assignments: AssignmentsPublisher;
  private readonly streams = new Set<OpenStream>();
  private unsubscribe?: () => void;
  private certificates?: RotatingCertificates;
  private readonly reports: StatusReports;
  private readonly service = loadAgentProto().tide.v1.AgentService.service;
  /** Each node's assignments as bytes, from each replica's and each slice's entry encoded once. */
  private readonly assignmentsEncoder = new AssignmentsEncoder(this.service.WatchAssignments.responseSerialize);
  /** The endpoints publisher writes one set to every stream: it is encoded once. */
  private encoded?: { endpoints: PublishedEndpoints; message: Endpoints };

  constructor(private readonly options: AgentServiceOptions) {
    this.registrar = new NodeRegistrar(options);
    this.assignments = new AssignmentsPublisher(options.cache, options.clusterId, options.configs);
    this.reports = new StatusReports(options.store, options.cache, options.events);
  }

  async listen(address: string, tls: AgentServerTls): Promise<void> {
    this.server.addService(withPreEncodedAssignments(this.service), this.handlers());
    this.server.addService(peerServiceDefinition(), peerServiceHandlers(this.options.usage, this.options.usageReports));
    // Renewals (useTls) reach connections made afterwards, without a restart.
    this.certificates = new RotatingCertificates(tls);
    const credentials = rotatingServerCredentials(this.certificates);
    await new Promise<void>((resolve, reject) => this.server.bindAsync(address, credentials, (error) => (error ? reject(error) : resolve())));
    this.assignments.start();
    this.unsubscribe = this.options.cache.onChange((change) => {
      if (change.kind === 'NodeCertificates') this.endRevoked(change.node, change.serials);
    });
  }

  /** A renewed serving certificate (or CA): new connections get it, open streams keep theirs. */
  useTls(tls: AgentServerTls): void {
    if (!this.certificates) throw new Error('the agents\' gRPC endpoint is not listening yet');
    this.certificates.update(tls);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.assignments.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handlers(): AgentServiceHandlers {
    const { cache, usage, endpoints, enrollment, forwarder, usageReports } = this.options;
    return {
      Register: (call, callback) => this.unary(call, callback, (caller) => {
        const registration = decodeRegistration(call.request);
        const decision = authorizeRegistration(caller, registration, cache);
        if (!decision.allowed) throw grpcRefusal(decision);
        // Before anything is written: a node of another cluster must not get a Node or a pod CIDR here.
        const mismatch = clusterMismatch(registration.clusterId, this.options.clusterId);
        if (mismatch) throw grpcFailedPrecondition(mismatch);
        return this.registrar.register(registration).then((answer) => encodeRegistrationAnswer({ ...answer, ...(this.options.clusterId ? { clusterId: this.options.clusterId } : {}) }));
      }),
      Heartbeat: (call, callback) => this.unary(call, callback, (caller) => {
        const heartbeat = this.asItself(caller, decodeHeartbeat(call.request));
        return this.registrar.heartbeat(heartbeat).then((known) => ({ known }));
      }),
      // Bytes built from parts encoded once (libs/proto assignments.encoder.ts), let through by the method's serializer.
      WatchAssignments: (call) => this.stream(call, (caller) => this.assignments.watch({
        ...agentStream(call, caller.name, (value) => this.assignmentsEncoder.encode(value) as Assignments),
        nodesWhenChanged: call.request.nodesWhenChanged === true,
      })),
      ReportStatus: (call, callback) => this.unary(call, callback, (caller) => {
        const report = decodeStatusReport(call.request);
        const decision = authorizeStatusReport(caller, report, cache);
        if (!decision.allowed) throw grpcRefusal(decision);
        return this.reports.apply(report).then(() => ({}));
      }),
      ReportUsage: (call, callback) => this.unary(call, callback, async (caller) => {
        // Checked first: `usage?.record(...)` would skip the check itself when samples are dropped.
        const report = this.asItself(caller, decodeUsageReport(call.request));
        // Without a cache nothing is held: the agent keeps sending full reports.
        const ack = usage?.record(report) ?? { holdsFullSet: false };
        // Only what was recorded: a delta refused here is followed by the agent's full report.
        if (ack.holdsFullSet) {
          usageReports?.inc({ source: 'agent' });
          forwarder?.forward(report);
        }
        return encodeUsageAck(ack);
      }),
      WatchEndpoints: (call) => this.stream(call, (caller) => endpoints.watch(agentStream(call, caller.name, (value) => this.encodeEndpoints(value)))),
      RenewCertificate: (call, callback) => this.unary(call, callback, async (caller) => {
        const renewed = await enrollment.renew(caller.name, call.request.csr);
        if (!renewed.ok) throw grpcRefusal({ allowed: false, status: renewed.status === 401 ? 401 : 403, reason: renewed.reason });
        await this.recordRenewal(caller.name, 'client', renewed.value.notAfter);
        return { certificate: renewed.value.certificate, ca: renewed.value.ca };
      }),
      // The address is the one the node registered with (NodeRestriction keeps it the node's own).
      RenewServingCertificate: (call, callback) => this.unary(call, callback, async (caller) => {
        const address = cache.get('Node', 'default', caller.name)?.spec.address;
        if (!address) throw grpcRefusal({ allowed: false, status: 403, reason: `node ${caller.name} is not registered: register before renewing its serving certificate` });
        const renewed = await enrollment.signServing(caller.name, call.request.csr, address);
        if (!renewed.ok) throw grpcRefusal({ allowed: false, status: renewed.status === 401 ? 401 : 403, reason: renewed.reason });
        await this.recordRenewal(caller.name, 'serving', renewed.value.notAfter);
        return { certificate: renewed.value.certificate, ca: renewed.value.ca };
      }),
    };
  }

  private recordRenewal(node: string, which: 'client' | 'serving', notAfter: string): Promise<void> {
    return this.options.events.record({ kind: 'Node', namespace: 'default', name: node }, 'Normal', 'CertificateRenewed',
      `the node's ${which} certificate was renewed (valid until ${notAfter})`).catch(() => undefined);
  }

  /** A unary call: authenticated first, then `work`; a thrown ServiceError is answered as it is, anything else as INTERNAL. */
  private unary<T>(call: AuthenticatedCall, callback: grpc.sendUnaryData<T>, work: (caller: NodeCaller) => Promise<T>): void {
    const caller = callerOf(call.getAuthContext().sslPeerCertificate, this.options.cache);
    if ('allowed' in caller) return callback(grpcRefusal(caller));
    let result: Promise<T>;
    try {
      result = work(caller);
    } catch (error) {
      return callback(toStatus(error));
    }
    result.then((value) => callback(null, value), (error) => callback(toStatus(error)));
  }

  /** A server stream: authenticated and held to the caller's own node, remembered so that a revocation ends it. */
  private stream<M>(call: grpc.ServerWritableStream<{ nodeName: string }, M>, open: (caller: NodeCaller) => void): void {
    const caller = callerOf(call.getAuthContext().sslPeerCertificate, this.options.cache);
    if ('allowed' in caller) return void call.emit('error', grpcRefusal(caller));
    const itself = this.checkItself(caller, call.request.nodeName);
    if (itself) return void call.emit('error', itself);
    const entry: OpenStream = { node: caller.name, serial: caller.serial, fail: (error) => call.emit('error', error) };
    this.streams.add(entry);
    const forget = () => this.streams.delete(entry);
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('finish', forget);
    open(caller);
  }

  /** A request naming a node: it must be the caller's own. */
  private asItself<T extends { nodeName: string }>(caller: NodeCaller, request: T): T {
    const refused = this.checkItself(caller, request.nodeName);
    if (refused) throw refused;
    return request;
  }

  private checkItself(caller: NodeCaller, nodeName: string): grpc.ServiceError | undefined {
    if (caller.name === nodeName) return undefined;
    return grpcRefusal({ allowed: false, status: 403, reason: `node ${caller.name} may not act as node ${nodeName}` });
  }

  /** Ends the streams of a node whose certificate is no longer honoured. */
  private endRevoked(node: string, serials: readonly string[] | undefined): void {
    for (const stream of [...this.streams]) {
      if (stream.node !== node || serials?.includes(stream.serial)) continue;
      this.streams.delete(stream);
      stream.fail(grpcRefusal({ allowed: false, status: 401, reason: `the certificate of node ${node} (serial ${stream.serial}) has been revoked` }));
    }
  }

  private encodeEndpoints(endpoints: PublishedEndpoints): Endpoints {
    if (this.encoded?.endpoints !== endpoints) this.encoded = { endpoints, message: encodeEndpoints(endpoints) };
    return this.encoded.message;
  }
}

/** Why a node that says it belongs to cluster `node` is refused by a control plane of cluster `ours`; undefined: it is not. */
export function clusterMismatch(node: string | undefined, ours: string | undefined): string | undefined {
  if (!node || !ours || node === ours) return undefined;
  return `this node belongs to cluster ${node} and this control plane's store holds cluster ${ours}: `
    + 'point the control plane at the cluster\'s etcd (its state dir or --etcd), or join the node to this cluster again (remove its state dir first)';
}

function grpcFailedPrecondition(reason: string): grpc.ServiceError {
  return Object.assign(new Error(reason), { code: grpc.status.FAILED_PRECONDITION, details: reason, metadata: new grpc.Metadata() });
}

type AgentServiceDefinition = ReturnType<typeof loadAgentProto>['tide']['v1']['AgentService']['service'];

/** The service with WatchAssignments' serializer letting pre-encoded bytes through. */
function withPreEncodedAssignments(service: AgentServiceDefinition): AgentServiceDefinition {
  const method = service.WatchAssignments;
  return { ...service, WatchAssignments: { ...method, responseSerialize: passBytes(method.responseSerialize) as typeof method.responseSerialize } };
}

/** A server stream seen as the publishers see it: domain values in, encoded on the way out. */
function agentStream<T, M>(call: grpc.ServerWritableStream<{ nodeName: string }, M>, node: string, encode: (value: T) => M): AgentStream<T> {
  return {
    node,
    write: (value) => call.write(encode(value)),
    end: () => call.end(),
    on: (event, listener) => call.on(event, listener),
  };
}

function toStatus(error: unknown): grpc.ServiceError {
  if (typeof (error as grpc.ServiceError).code === 'number' && (error as grpc.ServiceError).metadata) return error as grpc.ServiceError;
  return Object.assign(new Error((error as Error).message), { code: grpc.status.INTERNAL, details: (error as Error).message, metadata: new grpc.Metadata() });
}
