/** A container's readiness, liveness and startup probes → `spec.probes`; its lifecycle hooks checked. */
import { OriginRecorder } from './origin';
import { DocContext, Json, Report, Rules, applyRules, isObject, objectAt, onlyDefault, refused } from './report';

const PROBES = [['readinessProbe', 'readiness'], ['livenessProbe', 'liveness'], ['startupProbe', 'startup']] as const;

const PROBE_RULES: Rules = {
  httpGet: 'use', tcpSocket: 'use', exec: 'use',
  initialDelaySeconds: 'use', periodSeconds: 'use', timeoutSeconds: 'use', successThreshold: 'use', failureThreshold: 'use',
  grpc: refused('Tide probes are httpGet, tcpSocket or exec (an exec of grpc_health_probe does the same)'),
  terminationGracePeriodSeconds: refused("Tide stops a replica that fails its probe with the service's grace period"),
};
const HTTP_RULES: Rules = {
  path: 'use', port: 'use',
  scheme: onlyDefault(['HTTP'], 'Tide probes speak plain HTTP'),
  host: refused("Tide probes the replica's own address"),
  httpHeaders: onlyDefault([], 'Tide probes send no extra headers'),
};
const TCP_RULES: Rules = { port: 'use', host: refused("Tide probes the replica's own address") };

export function convertProbes(report: Report, ctx: DocContext, container: Json, path: string, origins: OriginRecorder): Json | undefined {
  const probes: Json = {};
  for (const [field, kind] of PROBES) {
    const at = `${path}.${field}`;
    const probe = objectAt(report, ctx, container[field], at);
    if (!probe) continue;
    applyRules(report, ctx, at, probe, PROBE_RULES);
    const out: Json = {};
    for (const [name, value] of Object.entries(probe)) if (PROBE_RULES[name] === 'use') out[name] = value;
    const http = objectAt(report, ctx, probe.httpGet, `${at}.httpGet`);
    if (http) {
      applyRules(report, ctx, `${at}.httpGet`, http, HTTP_RULES);
      out.httpGet = { ...(http.path !== undefined ? { path: http.path } : {}), port: http.port };
    }
    const tcp = objectAt(report, ctx, probe.tcpSocket, `${at}.tcpSocket`);
    if (tcp) {
      applyRules(report, ctx, `${at}.tcpSocket`, tcp, TCP_RULES);
      out.tcpSocket = { port: tcp.port };
    }
    probes[kind] = out;
    origins.record(`spec.probes.${kind}`, at);
  }
  return Object.keys(probes).length ? probes : undefined;
}

/**
 * Tide takes a replica out of every balancer before SIGTERM, which is what a preStop sleep is for in
 * Kubernetes; any other hook would change what happens at start or stop.
 */
export function convertLifecycle(report: Report, ctx: DocContext, value: unknown, path: string): void {
  const lifecycle = objectAt(report, ctx, value, path);
  if (!lifecycle) return;
  applyRules(report, ctx, path, lifecycle, {
    preStop: 'use',
    postStart: refused('Tide runs no hook after a container starts'),
    stopSignal: onlyDefault(['SIGTERM'], 'Tide stops a replica with SIGTERM'),
  });
  const preStop = lifecycle.preStop;
  if (preStop === undefined) return;
  if (isSleep(preStop)) {
    report.warn(ctx, `${path}.preStop`, 'ignored: Tide takes a replica out of every balancer before SIGTERM, which is what this sleep waits for');
  } else {
    report.refuse(ctx, `${path}.preStop`, 'Tide runs no hook before stopping a replica (a preStop sleep alone is accepted: the balancers are drained first)');
  }
}

function isSleep(hook: unknown): boolean {
  if (!isObject(hook)) return false;
  if (isObject(hook.sleep) && Object.keys(hook).length === 1) return true;
  const command = isObject(hook.exec) ? hook.exec.command : undefined;
  if (!Array.isArray(command) || Object.keys(hook).length !== 1) return false;
  const words = command.map(String);
  const sleep = (argv: string[]) => argv.length === 2 && /(^|\/)sleep$/.test(argv[0]) && /^\d+(\.\d+)?s?$/.test(argv[1]);
  // ["sleep", "5"] or ["/bin/sh", "-c", "sleep 5"]
  return sleep(words) || (words.length === 3 && /(^|\/)(ba)?sh$/.test(words[0]) && words[1] === '-c' && sleep(words[2].trim().split(/\s+/)));
}
