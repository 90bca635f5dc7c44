/**
 * The AgentService gRPC server, the control plane's gRPC adapter: binds the service, decodes each
 * request into @tide/api's agent protocol types and encodes each answer and stream message (libs/proto's
 * mapper), and hands the work to one part per job: NodeRegistrar (register, heartbeat),
 * AssignmentsPublisher (each node's desired replicas), EndpointsPublisher (published ports),
 * StatusReports (status, each node's reports in order) and UsageCache (usage samples).
 */
import * as grpc from '@grpc/grpc-js';
import { PublishedEndpoints } from '@tide/api';
import {
  AgentServiceHandlers, Assignments, AssignmentsEncoder, Endpoints, decodeHeartbeat, decodeRegistration, decodeStatusReport, decodeUsageReport,
  encodeEndpoints, encodeRegistrationAnswer, loadAgentProto, passBytes,
} from '@tide/proto';
import { EndpointsPublisher } from '../endpoints/endpoints.publisher';
import { StatusReports } from '../status.report';
import { UsageCache } from '../usage/usage.cache';
import { AgentStream } from './agent.stream';
import { AssignmentsPublisher } from './assignments.publisher';
import { NodeRegistrar, NodeRegistrarOptions } from './node.registrar';

/** The registrar's needs (etcd, cache, leases, events, pod CIDRs, heartbeat interval), and the rest. */
export interface AgentServiceOptions extends NodeRegistrarOptions {
  /** Started and closed by its owner (control-plane.ts), not by this server. */
  endpoints: EndpointsPublisher;
  /** Where usage samples go; without it they are dropped. */
  usage?: UsageCache;
}

export class AgentGrpcServer {
  private readonly server = new grpc.Server();
  private readonly registrar: NodeRegistrar;
  private readonly assignments: AssignmentsPublisher;
  private readonly reports: StatusReports;
  private readonly service = loadAgentProto().tide.v1.AgentService.service;
  /** Each node's assignments as bytes, from each replica's and each slice's entry encoded once. */
  private readonly assignmentsEncoder = new AssignmentsEncoder(this.service.WatchAssignments.responseSerialize);
  /** The endpoints publisher writes one set to every stream: it is encoded once. */
  private encoded?: { endpoints: PublishedEndpoints; message: Endpoints };

  constructor(private readonly options: AgentServiceOptions) {
    this.registrar = new NodeRegistrar(options);
    this.assignments = new AssignmentsPublisher(options.cache);
    this.reports = new StatusReports(options.store, options.cache, options.events);
  }

  async listen(address: string): Promise<void> {
    this.server.addService(withPreEncodedAssignments(this.service), this.handlers());
    await new Promise<void>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    this.assignments.start();
  }

  async close(): Promise<void> {
    this.assignments.close();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handlers(): AgentServiceHandlers {
    const { usage, endpoints } = this.options;
    return {
      Register: (call, callback) => answer(callback, this.registrar.register(decodeRegistration(call.request)).then(encodeRegistrationAnswer)),
      Heartbeat: (call, callback) => answer(callback, this.registrar.heartbeat(decodeHeartbeat(call.request)).then((known) => ({ known }))),
      // Bytes built from parts encoded once (libs/proto assignments.encoder.ts), let through by the method's serializer.
      WatchAssignments: (call) => this.assignments.watch(agentStream(call, (value) => this.assignmentsEncoder.encode(value) as Assignments)),
      ReportStatus: (call, callback) => answer(callback, this.reports.apply(decodeStatusReport(call.request)).then(() => ({}))),
      ReportUsage: (call, callback) => {
        usage?.record(decodeUsageReport(call.request));
        callback(null, {});
      },
      WatchEndpoints: (call) => endpoints.watch(agentStream(call, (value) => this.encodeEndpoints(value))),
    };
  }

  private encodeEndpoints(endpoints: PublishedEndpoints): Endpoints {
    if (this.encoded?.endpoints !== endpoints) this.encoded = { endpoints, message: encodeEndpoints(endpoints) };
    return this.encoded.message;
  }
}

type AgentServiceDefinition = ReturnType<typeof loadAgentProto>['tide']['v1']['AgentService']['service'];

/** The service with WatchAssignments' serializer letting pre-encoded bytes through. */
function withPreEncodedAssignments(service: AgentServiceDefinition): AgentServiceDefinition {
  const method = service.WatchAssignments;
  return { ...service, WatchAssignments: { ...method, responseSerialize: passBytes(method.responseSerialize) as typeof method.responseSerialize } };
}

/** A server stream seen as the publishers see it: domain values in, encoded on the way out. */
function agentStream<T, M>(call: grpc.ServerWritableStream<{ nodeName: string }, M>, encode: (value: T) => M): AgentStream<T> {
  return {
    node: call.request.nodeName,
    write: (value) => call.write(encode(value)),
    end: () => call.end(),
    on: (event, listener) => call.on(event, listener),
  };
}

function answer<T>(callback: grpc.sendUnaryData<T>, result: Promise<T>): void {
  result.then((value) => callback(null, value), (error) => callback(toStatus(error)));
}

function toStatus(error: unknown): grpc.ServiceError {
  return Object.assign(new Error((error as Error).message), { code: grpc.status.INTERNAL, details: (error as Error).message, metadata: new grpc.Metadata() });
}
