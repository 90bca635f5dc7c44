/**
 * Probes (readiness, liveness, startup) as users write them and as the agent runs them: validation
 * with field paths, and resolution to complete probes (Kubernetes defaults, named ports looked up).
 */
import type { Checker } from './field.checker';
import { Probe, ProbeKind, Probes, ResolvedProbe, ServicePort } from './types';

export const PROBE_KINDS: readonly ProbeKind[] = ['readiness', 'liveness', 'startup'];
const HANDLERS = ['httpGet', 'tcpSocket', 'exec'] as const;
const PROBE_FIELDS = [...HANDLERS, 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'];

/** Kubernetes' defaults. */
export const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

type Json = Record<string, unknown>;

export function checkProbes(c: Checker, probes: unknown, ports: unknown): void {
  if (!c.isObject(probes, 'spec.probes')) return;
  c.onlyKnown(probes, 'spec.probes', PROBE_KINDS);
  const portNames = Array.isArray(ports) ? ports.map((p) => (p as Json | null)?.name).filter((n): n is string => typeof n === 'string') : [];
  for (const kind of PROBE_KINDS) {
    const probe = probes[kind];
    const path = `spec.probes.${kind}`;
    if (probe === undefined || !c.isObject(probe, path)) continue;
    c.onlyKnown(probe, path, PROBE_FIELDS);
    const handlers = HANDLERS.filter((h) => probe[h] !== undefined);
    if (handlers.length !== 1) {
      c.fail(path, `needs exactly one of httpGet, tcpSocket, exec${handlers.length ? ` (got ${handlers.join(' and ')})` : ''}`);
    }
    checkHandler(c, probe, path, portNames);
    if (probe.initialDelaySeconds !== undefined) c.integer(probe.initialDelaySeconds, `${path}.initialDelaySeconds`, 0, 3600);
    for (const field of ['periodSeconds', 'timeoutSeconds', 'failureThreshold'] as const) {
      if (probe[field] !== undefined) c.integer(probe[field], `${path}.${field}`, 1, 3600);
    }
    if (probe.successThreshold !== undefined && c.integer(probe.successThreshold, `${path}.successThreshold`, 1, 3600)
      && kind !== 'readiness' && probe.successThreshold !== 1) {
      c.fail(`${path}.successThreshold`, `must be 1 for a ${kind} probe (one pass is enough to know it is ${kind === 'liveness' ? 'alive' : 'started'})`);
    }
  }
}

function checkHandler(c: Checker, probe: Json, path: string, portNames: string[]): void {
  if (probe.httpGet !== undefined && c.isObject(probe.httpGet, `${path}.httpGet`)) {
    c.onlyKnown(probe.httpGet, `${path}.httpGet`, ['path', 'port']);
    checkPort(c, probe.httpGet.port, `${path}.httpGet.port`, portNames);
    const url = probe.httpGet.path;
    if (url !== undefined && c.string(url, `${path}.httpGet.path`) && !/^\/[\x21-\x7e]*$/.test(url)) {
      c.fail(`${path}.httpGet.path`, `"${url}" must start with / and contain no spaces`);
    }
  }
  if (probe.tcpSocket !== undefined && c.isObject(probe.tcpSocket, `${path}.tcpSocket`)) {
    c.onlyKnown(probe.tcpSocket, `${path}.tcpSocket`, ['port']);
    checkPort(c, probe.tcpSocket.port, `${path}.tcpSocket.port`, portNames);
  }
  if (probe.exec !== undefined && c.isObject(probe.exec, `${path}.exec`)) {
    c.onlyKnown(probe.exec, `${path}.exec`, ['command']);
    const command = probe.exec.command;
    if (!Array.isArray(command) || command.length === 0) c.fail(`${path}.exec.command`, 'required: the command and its arguments, e.g. ["cat", "/tmp/healthy"]');
    else c.stringArray(command, `${path}.exec.command`);
  }
}

function checkPort(c: Checker, port: unknown, path: string, portNames: string[]): void {
  if (typeof port === 'string') {
    if (!portNames.includes(port)) c.fail(path, `"${port}" names none of spec.ports${portNames.length ? ` (named: ${portNames.join(', ')})` : ''}`);
    return;
  }
  if (port === undefined) return c.fail(path, 'required: a port number or the name of one of spec.ports');
  c.integer(port, path, 1, 65535);
}

/** The probes of a valid Service, complete; undefined when it declares none. */
export function resolveProbes(probes: Probes | undefined, ports: ServicePort[]): Probes<ResolvedProbe> | undefined {
  if (!probes) return undefined;
  const out: Probes<ResolvedProbe> = {};
  for (const kind of PROBE_KINDS) {
    const probe = probes[kind];
    if (probe) out[kind] = resolveProbe(probe, ports);
  }
  return Object.keys(out).length ? out : undefined;
}

function resolveProbe(probe: Probe, ports: ServicePort[]): ResolvedProbe {
  const port = (value: number | string) => (typeof value === 'number' ? value : ports.find((p) => p.name === value)?.containerPort ?? 0);
  return {
    ...(probe.httpGet ? { httpGet: { path: probe.httpGet.path ?? '/', port: port(probe.httpGet.port) } } : {}),
    ...(probe.tcpSocket ? { tcpSocket: { port: port(probe.tcpSocket.port) } } : {}),
    ...(probe.exec ? { exec: { command: probe.exec.command } } : {}),
    initialDelaySeconds: probe.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds,
    periodSeconds: probe.periodSeconds ?? PROBE_DEFAULTS.periodSeconds,
    timeoutSeconds: probe.timeoutSeconds ?? PROBE_DEFAULTS.timeoutSeconds,
    successThreshold: probe.successThreshold ?? PROBE_DEFAULTS.successThreshold,
    failureThreshold: probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
  };
}
