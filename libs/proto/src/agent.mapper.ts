/**
 * The only code that converts between the agent protocol's domain values (@tide/api's
 * agent.protocol.ts) and its proto messages. `encode*` gives a message to send, `decode*` reads a
 * received one (the loader fills defaults, so every field is there).
 *
 * proto3 has no "unset" for scalars: an absent number arrives as 0, an absent string as "", an
 * absent bool as false. The rules for what that means live here and nowhere else:
 * - limits (cpu, memory, pids), a port's publish, a pid, a heartbeat interval: 0 is unset;
 * - workingDir, user, a port's name, a status message, ip, startedAt, pod and cluster CIDR: "" is unset;
 * - readOnlyRootFilesystem: false is unset; seccompUnconfined: false is the runtime's default profile; stdin, tty: false is unset;
 * - network "" (a control plane older than bridge networking) is host, as it meant;
 * - an unknown restart policy is Always, an unknown publish protocol TCP, an unknown phase Starting;
 * - a probe's period, timeout and thresholds of 0 take Kubernetes' defaults, a path "" is "/";
 * - a last exit without a reason is none; its code is only meaningful with has_code.
 * A decoded value never carries 0 or "" for "unset"; an encoded one always does.
 */
import {
  ContainerExit, Endpoint, NodeAssignments, NodeHeartbeat, NodeRegistration, NodeSlice, NodeStatusReport, NodeUsageReport, PROBE_DEFAULTS,
  PROBE_KINDS, Probes, PublishProtocol, PublishedEndpoints, RegistrationAnswer, ReplicaAssignment, ReplicaPhase, ReportedReplicaStatus,
  ResolvedProbe, RestartPolicy, AssignedTemplate, POD_NETWORK_MODES, UsageReportAck,
} from '@tide/api';
import type {
  Assignment__Output, Assignments, Assignments__Output, ContainerExit as ContainerExitMessage, ContainerExit__Output, ContainerSpec,
  ContainerSpec__Output, Endpoint__Output, Endpoints, Endpoints__Output, HeartbeatRequest, HeartbeatRequest__Output, Probe, Probe__Output,
  Probes as ProbesMessage, Probes__Output, RegisterRequest, RegisterRequest__Output, RegisterResponse, RegisterResponse__Output,
  ReplicaStatus, ReplicaStatus__Output, StatusReport, StatusReport__Output, UsageAck, UsageAck__Output, UsageReport, UsageReport__Output,
} from './generated/messages';
import { decodeConfigFields, decodeConfigs, encodeConfigFields, encodeConfigs } from './config.mapper';

/** A received message that cannot be read as the domain value (names the field). */
export class WireFormatError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'WireFormatError';
  }
}

const PHASES: readonly ReplicaPhase[] = ['Pending', 'Scheduled', 'Starting', 'Running', 'Paused', 'Terminating', 'Succeeded', 'Failed'];

function present(value: string): string | undefined {
  return value === '' ? undefined : value;
}

function positive(value: number): number | undefined {
  return value > 0 ? value : undefined;
}

/** `{ [key]: value }` when the value is set, else nothing to spread. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// ---- Assignments: control plane → agent ----

export function encodeAssignments(assignments: NodeAssignments): Assignments {
  return {
    replicas: assignments.replicas.map((a) => ({
      namespace: a.namespace, name: a.name, service: a.service, templateHash: a.templateHash, container: encodeTemplate(a.template),
      paused: a.paused === true,
    })),
    revision: assignments.revision,
    nodes: assignments.nodes.map((n) => ({ nodeName: n.nodeName, address: n.address, podCidr: n.podCIDR, agentPort: n.agentPort ?? 0 })),
    clusterId: assignments.clusterId ?? '',
    nodesUnchanged: assignments.nodesUnchanged ?? false,
    configs: encodeConfigs(assignments.configs ?? []),
  };
}

/** Throws WireFormatError for an assignment without a container: nothing can be run from it. */
export function decodeAssignments(message: Assignments__Output): NodeAssignments {
  return {
    replicas: message.replicas.map((a, i) => decodeAssignment(a, `replicas[${i}]`)),
    revision: message.revision,
    nodes: message.nodes.map((n): NodeSlice => ({ nodeName: n.nodeName, address: n.address, podCIDR: n.podCidr, ...optional('agentPort', positive(n.agentPort)) })),
    ...optional('clusterId', present(message.clusterId)),
    ...(message.nodesUnchanged ? { nodesUnchanged: true as const } : {}),
    ...(message.configs?.length ? { configs: decodeConfigs(message.configs) } : {}),
  };
}

function decodeAssignment(message: Assignment__Output, field: string): ReplicaAssignment {
  if (!message.container) throw new WireFormatError(`${field}.container`, `the assignment of ${message.namespace}/${message.name} has no container`);
  return {
    namespace: message.namespace, name: message.name, service: message.service, templateHash: message.templateHash,
    template: decodeTemplate(message.container),
    ...(message.paused ? { paused: true as const } : {}),
  };
}

function encodeTemplate(t: AssignedTemplate): ContainerSpec {
  return {
    image: t.image, command: t.command, args: t.args, env: t.env, workingDir: t.workingDir ?? '',
    cpuLimitMillis: t.limits.cpuMillis ?? 0, memoryLimitBytes: t.limits.memoryBytes ?? 0, pidsLimit: t.limits.pids ?? 0,
    ephemeralStorageLimitBytes: t.limits.ephemeralStorageBytes ?? 0,
    cpuRequestMillis: t.requests.cpuMillis, memoryRequestBytes: t.requests.memoryBytes,
    restartPolicy: t.restartPolicy, terminationGracePeriodSeconds: t.terminationGracePeriodSeconds, network: t.network,
    ports: t.ports.map((p) => ({ name: p.name ?? '', containerPort: p.containerPort, publish: p.publish ?? 0 })),
    user: t.user ?? '', readOnlyRootFilesystem: t.readOnlyRootFilesystem ?? false, seccompUnconfined: t.seccompProfile === 'Unconfined',
    stdin: t.stdin ?? false, tty: t.tty ?? false,
    ...(t.probes ? { probes: encodeProbes(t.probes) } : {}),
    ...encodeConfigFields(t),
  };
}

function decodeTemplate(c: ContainerSpec__Output): AssignedTemplate {
  const probes = c.probes ? decodeProbes(c.probes) : undefined;
  return {
    image: c.image, command: [...c.command], args: [...c.args], env: { ...c.env },
    ...optional('workingDir', present(c.workingDir)),
    requests: { cpuMillis: c.cpuRequestMillis, memoryBytes: c.memoryRequestBytes },
    limits: {
      ...optional('cpuMillis', positive(c.cpuLimitMillis)),
      ...optional('memoryBytes', positive(c.memoryLimitBytes)),
      ...optional('pids', positive(c.pidsLimit)),
      ...optional('ephemeralStorageBytes', positive(c.ephemeralStorageLimitBytes)),
    },
    ports: c.ports.map((p) => ({ ...optional('name', present(p.name)), containerPort: p.containerPort, ...optional('publish', positive(p.publish)) })),
    network: c.network === 'bridge' ? 'bridge' : 'host',
    restartPolicy: restartPolicyOf(c.restartPolicy),
    terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
    ...optional('user', present(c.user)),
    ...(c.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {}),
    ...(c.seccompUnconfined ? { seccompProfile: 'Unconfined' as const } : {}),
    ...(c.stdin ? { stdin: true } : {}),
    ...(c.tty ? { tty: true } : {}),
    ...optional('probes', probes),
    ...decodeConfigFields(c),
  };
}

/** An older or newer control plane's policy this agent does not know: the default, Always. */
function restartPolicyOf(value: string): RestartPolicy {
  return value === 'OnFailure' || value === 'Never' ? value : 'Always';
}

function encodeProbes(probes: Probes<ResolvedProbe>): ProbesMessage {
  const encode = (p: ResolvedProbe | undefined): Probe | null => (p ? {
    httpGet: p.httpGet ?? null, tcpSocket: p.tcpSocket ?? null, exec: p.exec ?? null,
    initialDelaySeconds: p.initialDelaySeconds, periodSeconds: p.periodSeconds, timeoutSeconds: p.timeoutSeconds,
    successThreshold: p.successThreshold, failureThreshold: p.failureThreshold,
  } : null);
  return { readiness: encode(probes.readiness), liveness: encode(probes.liveness), startup: encode(probes.startup) };
}

/** Undefined when no probe is set: a replica without probes is ready once running. */
function decodeProbes(message: Probes__Output): Probes<ResolvedProbe> | undefined {
  const out: Probes<ResolvedProbe> = {};
  for (const kind of PROBE_KINDS) {
    const probe = message[kind];
    if (probe) out[kind] = decodeProbe(probe);
  }
  return Object.keys(out).length ? out : undefined;
}

function decodeProbe(p: Probe__Output): ResolvedProbe {
  return {
    ...(p.httpGet ? { httpGet: { path: p.httpGet.path || '/', port: p.httpGet.port } } : {}),
    ...(p.tcpSocket ? { tcpSocket: { port: p.tcpSocket.port } } : {}),
    ...(p.exec ? { exec: { command: [...p.exec.command] } } : {}),
    initialDelaySeconds: p.initialDelaySeconds,
    periodSeconds: p.periodSeconds || PROBE_DEFAULTS.periodSeconds,
    timeoutSeconds: p.timeoutSeconds || PROBE_DEFAULTS.timeoutSeconds,
    successThreshold: p.successThreshold || PROBE_DEFAULTS.successThreshold,
    failureThreshold: p.failureThreshold || PROBE_DEFAULTS.failureThreshold,
  };
}

// ---- Endpoints of the published ports: control plane → every agent ----

export function encodeEndpoints(endpoints: PublishedEndpoints): Endpoints {
  return {
    ports: endpoints.ports.map((p) => ({ ...p, endpoints: p.endpoints.map((e) => ({ ...e })) })), revision: endpoints.revision,
    services: endpoints.services.map((s) => ({ ...s, ports: s.ports.map((p) => ({ ...p, endpoints: p.endpoints.map((e) => ({ ...e })) })) })),
  };
}

export function decodeEndpoints(message: Endpoints__Output): PublishedEndpoints {
  return {
    ports: message.ports.map((p) => ({
      namespace: p.namespace, service: p.service, publish: p.publish, protocol: protocolOf(p.protocol),
      endpoints: p.endpoints.map(decodeEndpoint),
    })),
    revision: message.revision,
    services: message.services.map((s) => ({
      namespace: s.namespace, service: s.service, ip: s.ip,
      ports: s.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}), port: p.port, protocol: protocolOf(p.protocol), endpoints: p.endpoints.map(decodeEndpoint),
      })),
    })),
  };
}

function decodeEndpoint(e: Endpoint__Output): Endpoint {
  return { address: e.address, port: e.port, replica: e.replica, nodeName: e.nodeName };
}

/** TCP carries any protocol: the safe reading of one this agent does not know. */
function protocolOf(value: string): PublishProtocol {
  return value === 'HTTP' ? 'HTTP' : 'TCP';
}

// ---- Status reports: agent → control plane ----

export function encodeStatusReport(report: NodeStatusReport): StatusReport {
  return { nodeName: report.nodeName, replicas: report.replicas.map(encodeReplicaStatus), gone: report.gone };
}

export function decodeStatusReport(message: StatusReport__Output): NodeStatusReport {
  return { nodeName: message.nodeName, replicas: message.replicas.map(decodeReplicaStatus), gone: [...message.gone] };
}

function encodeReplicaStatus(s: ReportedReplicaStatus): ReplicaStatus {
  return {
    namespace: s.namespace, name: s.name, phase: s.phase, ready: s.ready, restartCount: s.restartCount,
    message: s.message ?? '', pid: s.pid ?? 0, ip: s.ip ?? '', startedAt: s.startedAt ?? '',
    ...(s.lastExit ? { lastExit: encodeExit(s.lastExit) } : {}),
  };
}

function decodeReplicaStatus(m: ReplicaStatus__Output): ReportedReplicaStatus {
  return {
    namespace: m.namespace, name: m.name,
    phase: PHASES.includes(m.phase as ReplicaPhase) ? (m.phase as ReplicaPhase) : 'Starting',
    ready: m.ready, restartCount: m.restartCount,
    ...optional('lastExit', m.lastExit ? decodeExit(m.lastExit) : undefined),
    ...optional('message', present(m.message)),
    ...optional('pid', positive(m.pid)),
    ...optional('ip', present(m.ip)),
    ...optional('startedAt', present(m.startedAt)),
  };
}

function encodeExit(exit: ContainerExit): ContainerExitMessage {
  return { hasCode: exit.code !== null, code: exit.code ?? 0, signal: exit.signal ?? '', reason: exit.reason, finishedAt: exit.finishedAt };
}

function decodeExit(m: ContainerExit__Output): ContainerExit | undefined {
  if (!m.reason) return undefined;
  return { code: m.hasCode ? m.code : null, signal: present(m.signal) ?? null, reason: m.reason, finishedAt: m.finishedAt };
}

// ---- Registration and heartbeats ----

export function encodeRegistration(r: NodeRegistration): RegisterRequest {
  return {
    ...r, capacity: { ...r.capacity }, allocatable: { ...r.allocatable }, labels: { ...r.labels }, images: [...r.images], clusterId: r.clusterId ?? '',
  };
}

export function decodeRegistration(m: RegisterRequest__Output): NodeRegistration {
  const resources = (r: { cpuMillis: number; memoryBytes: number } | null) => ({ cpuMillis: r?.cpuMillis ?? 0, memoryBytes: r?.memoryBytes ?? 0 });
  return {
    nodeName: m.nodeName, address: m.address, agentPort: m.agentPort, capacity: resources(m.capacity), allocatable: resources(m.allocatable),
    labels: { ...m.labels }, images: [...m.images], ...optional('clusterId', present(m.clusterId)),
  };
}

export function encodeRegistrationAnswer(a: RegistrationAnswer): RegisterResponse {
  return { leaseTtlSeconds: a.leaseTtlSeconds, heartbeatIntervalMs: a.heartbeatIntervalMs ?? 0, podCidr: a.podCIDR ?? '', clusterCidr: a.clusterCIDR ?? '',
    serviceCidr: a.serviceCIDR ?? '', podNetwork: a.podNetwork ?? '', clusterId: a.clusterId ?? '' };
}

export function decodeRegistrationAnswer(m: RegisterResponse__Output): RegistrationAnswer {
  return {
    leaseTtlSeconds: m.leaseTtlSeconds,
    ...optional('heartbeatIntervalMs', positive(m.heartbeatIntervalMs)),
    ...optional('podCIDR', present(m.podCidr)),
    ...optional('clusterCIDR', present(m.clusterCidr)),
    ...optional('serviceCIDR', present(m.serviceCidr)),
    // A mode this agent does not know is left out: it keeps host-gw, whose routes it can make.
    ...optional('podNetwork', POD_NETWORK_MODES.find((mode) => mode === m.podNetwork)),
    ...optional('clusterId', present(m.clusterId)),
  };
}

/** `images` and `localVolumes` travel as messages of their own: unset (unchanged) differs from an empty list. */
export function encodeHeartbeat(h: NodeHeartbeat): HeartbeatRequest {
  return {
    nodeName: h.nodeName, ...(h.images ? { images: { refs: [...h.images] } } : {}),
    ...(h.diskPressure ? { diskPressure: { message: h.diskPressure.message, sinceMs: h.diskPressure.sinceMs } } : {}),
    ...(h.localVolumes ? { localVolumes: { volumes: h.localVolumes.map((v) => ({ ...v })) } } : {}),
  };
}

export function decodeHeartbeat(m: HeartbeatRequest__Output): NodeHeartbeat {
  return {
    nodeName: m.nodeName, ...optional('images', m.images ? [...m.images.refs] : undefined),
    ...optional('diskPressure', m.diskPressure ? { message: m.diskPressure.message, sinceMs: Number(m.diskPressure.sinceMs) } : undefined),
    ...optional('localVolumes', m.localVolumes ? m.localVolumes.volumes.map((v) => ({ namespace: v.namespace, name: v.name, sizeBytes: Number(v.sizeBytes) })) : undefined),
  };
}

// ---- Usage: agent → control plane, every second ----

export function encodeUsageReport(report: NodeUsageReport): UsageReport {
  return {
    nodeName: report.nodeName, timestampMs: report.timestampMs,
    replicas: report.replicas.map((r) => ({ ...r })), services: report.services.map((s) => ({ ...s, latencyCounts: [...(s.latencyCounts ?? [])] })),
    delta: report.delta === true, gone: [...(report.gone ?? [])],
  };
}

export function decodeUsageReport(m: UsageReport__Output): NodeUsageReport {
  return {
    nodeName: m.nodeName, timestampMs: m.timestampMs,
    ...(m.delta ? { delta: true, gone: [...m.gone] } : {}),
    replicas: m.replicas.map((r) => ({
      namespace: r.namespace, name: r.name, cpuUsageSeconds: r.cpuUsageSeconds,
      memoryWorkingSetBytes: r.memoryWorkingSetBytes, memoryUsageBytes: r.memoryUsageBytes, startedAt: r.startedAt,
    })),
    services: m.services.map((s) => ({
      namespace: s.namespace, service: s.service, requestsTotal: s.requestsTotal, ...(Number(s.countedAtMs) > 0 ? { countedAtMs: Number(s.countedAtMs) } : {}),
      ...(s.latencyCounts.length > 0 ? { latencyCounts: [...s.latencyCounts] } : {}),
    })),
  };
}

export function encodeUsageAck(ack: UsageReportAck): UsageAck {
  return { holdsFullSet: ack.holdsFullSet };
}

/** An older control plane's empty answer reads as not holding the set: the agent keeps sending full reports. */
export function decodeUsageAck(m: UsageAck__Output | undefined): UsageReportAck {
  return { holdsFullSet: m?.holdsFullSet === true };
}
