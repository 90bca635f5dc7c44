/**
 * `v1 Service` → the ports of the Tide Service converted from the one Deployment it selects: a
 * Service's `port` becomes the Tide port's `port` (on the service's IP, `NAME.NAMESPACE.svc.tide`),
 * `targetPort` its `containerPort`; a NodePort's `nodePort` becomes `publish` (every node's balancer
 * listens there).
 */
import { ServiceDraft } from './deployment.convert';
import { labelsAt } from './labels';
import { convertMetadata, namespaceOf } from './meta.convert';
import { DocContext, Json, Report, Rules, applyRules, ignored, isObject, listAt, objectAt, onlyDefault, refused } from './report';

const DOCUMENT_RULES: Rules = { apiVersion: 'use', kind: 'use', metadata: 'use', spec: 'use', status: ignored('status is what Kubernetes observed') };
const NO_CLUSTER_IP = ignored('Tide gives each service an IP of its own service range (status.clusterIP)');
const LOAD_BALANCER_ONLY = ignored('only for type LoadBalancer');
const SPEC_RULES: Rules = {
  type: 'use', selector: 'use', ports: 'use',
  clusterIP: NO_CLUSTER_IP, clusterIPs: NO_CLUSTER_IP, ipFamilies: NO_CLUSTER_IP, ipFamilyPolicy: NO_CLUSTER_IP,
  sessionAffinity: onlyDefault(['None'], "Tide's balancers have no client affinity"),
  sessionAffinityConfig: ignored("Tide's balancers have no client affinity"),
  externalTrafficPolicy: onlyDefault(['Cluster'], "Tide's balancers send to the ready replicas of every node (Cluster)"),
  internalTrafficPolicy: onlyDefault(['Cluster'], "Tide's balancers send to the ready replicas of every node (Cluster)"),
  trafficDistribution: ignored("Tide's balancers choose by load, not by topology"),
  externalIPs: onlyDefault([], 'Tide publishes on the nodes\' own addresses only'),
  publishNotReadyAddresses: onlyDefault([false], "Tide's balancers send to ready replicas only"),
  externalName: refused('Tide has no ExternalName services'),
  loadBalancerIP: LOAD_BALANCER_ONLY, loadBalancerSourceRanges: LOAD_BALANCER_ONLY, loadBalancerClass: LOAD_BALANCER_ONLY,
  allocateLoadBalancerNodePorts: LOAD_BALANCER_ONLY, healthCheckNodePort: LOAD_BALANCER_ONLY,
};
const PORT_RULES: Rules = {
  name: 'use', port: 'use', targetPort: 'use', nodePort: 'use', appProtocol: 'use',
  protocol: onlyDefault(['TCP'], "Tide's balancers carry TCP only"),
};

/** Who published which port already, across the file: every node listens on each once. */
export type PublishedPorts = Map<number, string>;

export function convertService(report: Report, ctx: DocContext, doc: Json, drafts: ServiceDraft[], published: PublishedPorts): void {
  applyRules(report, ctx, '', doc, DOCUMENT_RULES);
  const meta = convertMetadata(report, ctx, doc.metadata);
  const spec = objectAt(report, ctx, doc.spec, 'spec') ?? {};
  applyRules(report, ctx, 'spec', spec, SPEC_RULES);
  const type = spec.type ?? 'ClusterIP';
  if (type !== 'ClusterIP' && type !== 'NodePort') {
    const why = type === 'LoadBalancer' ? 'Tide has no cloud load balancers: type NodePort publishes the port on every node\'s balancer' : 'Tide converts ClusterIP and NodePort services';
    return report.refuse(ctx, 'spec.type', why);
  }
  if (!meta) return;
  const draft = selectedDraft(report, ctx, spec.selector, namespaceOf(meta), drafts);
  if (!draft) return;
  if (draft.meta.name !== meta.name) {
    report.warn(ctx, 'metadata.name', `its ports go to Tide service "${draft.meta.name}" (the Deployment's name), named ${draft.meta.name}.${draft.namespace}.svc.tide: Tide has one object per service`);
  }
  listAt(report, ctx, spec.ports, 'spec.ports').forEach((item, k) => {
    const at = `spec.ports[${k}]`;
    if (!isObject(item)) return report.refuse(ctx, at, 'must be a mapping { port, targetPort?, nodePort? }');
    applyRules(report, ctx, at, item, PORT_RULES);
    const target = targetPort(report, ctx, item, at, draft);
    if (target === undefined) return;
    const port = tidePort(draft, target, ctx, at);
    servicePort(report, ctx, item, at, port, draft);
    if (type === 'NodePort') publish(report, ctx, item, at, port, draft, published);
  });
}

function selectedDraft(report: Report, ctx: DocContext, value: unknown, namespace: string, drafts: ServiceDraft[]): ServiceDraft | undefined {
  const selector = labelsAt(report, ctx, value, 'spec.selector');
  if (Object.keys(selector).length === 0) {
    report.refuse(ctx, 'spec.selector', 'required: Tide gives a service the ports of the one Deployment it selects (no hand-made endpoints)');
    return undefined;
  }
  const matches = drafts.filter((d) => d.namespace === namespace && Object.entries(selector).every(([k, v]) => d.podLabels[k] === v));
  const text = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  if (matches.length === 0) {
    report.refuse(ctx, 'spec.selector', `${text} matches no Deployment's pod labels in namespace "${namespace}" of this file: the service would have no endpoints`);
    return undefined;
  }
  if (matches.length > 1) {
    report.refuse(ctx, 'spec.selector', `${text} matches the pods of ${matches.map((d) => `"${d.meta.name}"`).join(' and ')}: in Tide a port belongs to one service`);
    return undefined;
  }
  for (const key of Object.keys(selector)) matches[0].usedLabels.add(key);
  return matches[0];
}

/** The container port a Service port sends to: targetPort (a number, or a container port's name), else `port`. */
function targetPort(report: Report, ctx: DocContext, item: Json, at: string, draft: ServiceDraft): number | undefined {
  const target = item.targetPort ?? item.port;
  if (typeof target === 'number' && Number.isInteger(target)) return target;
  if (typeof target === 'string' && /^\d+$/.test(target)) return Number(target);
  if (typeof target === 'string') {
    const number = draft.portNames.get(target);
    if (number === undefined) report.refuse(ctx, `${at}.targetPort`, `"${target}" names no port of the container of "${draft.meta.name}"`);
    return number;
  }
  report.refuse(ctx, `${at}.port`, 'required: a port number');
  return undefined;
}

/** The Tide port entry for a container port, made when the container did not declare it. */
function tidePort(draft: ServiceDraft, containerPort: number, ctx: DocContext, at: string): { entry: Json; index: number } {
  const ports = (draft.object.spec.ports ??= []) as Json[];
  let index = ports.findIndex((p) => p.containerPort === containerPort);
  if (index < 0) {
    index = ports.push({ containerPort }) - 1;
    draft.origins.record(`spec.ports[${index}]`, at, ctx);
  }
  return { entry: ports[index], index };
}

/** The Service's `port` as the Tide port's (on the service's IP), when it is not the container port; HTTP by appProtocol or name. */
function servicePort(report: Report, ctx: DocContext, item: Json, at: string, port: { entry: Json; index: number }, draft: ServiceDraft): void {
  if (isHttp(item)) {
    port.entry.protocol = 'HTTP';
    draft.origins.record(`spec.ports[${port.index}].protocol`, `${at}.${item.appProtocol !== undefined ? 'appProtocol' : 'name'}`, ctx);
  }
  const number = item.port;
  if (typeof number !== 'number' || number === port.entry.containerPort) return;
  if (port.entry.port !== undefined && port.entry.port !== number) {
    return report.refuse(ctx, `${at}.port`, `container port ${String(port.entry.containerPort)} is already the service's port ${String(port.entry.port)}: Tide gives a container port one service port`);
  }
  port.entry.port = number;
  draft.origins.record(`spec.ports[${port.index}].port`, `${at}.port`, ctx);
}

function publish(report: Report, ctx: DocContext, item: Json, at: string, port: { entry: Json; index: number }, draft: ServiceDraft, published: PublishedPorts): void {
  const field = item.nodePort !== undefined ? 'nodePort' : 'port';
  const number = item[field];
  if (field === 'port') report.warn(ctx, at, `no nodePort: published on port ${String(number)} (the service's port) on every node`);
  if (typeof number !== 'number') return report.refuse(ctx, `${at}.${field}`, 'must be a port number');
  if (port.entry.publish !== undefined && port.entry.publish !== number) {
    return report.refuse(ctx, `${at}.${field}`, `container port ${String(port.entry.containerPort)} is already published on ${String(port.entry.publish)}: Tide publishes a container port once`);
  }
  const owner = `${draft.namespace}/${draft.meta.name}`;
  const holder = published.get(number);
  if (holder !== undefined && (holder !== owner || port.entry.publish !== number)) {
    return report.refuse(ctx, `${at}.${field}`, `port ${number} is already published by service ${holder}: every node listens on it once`);
  }
  published.set(number, owner);
  port.entry.publish = number;
  draft.origins.record(`spec.ports[${port.index}].publish`, `${at}.${field}`, ctx);
}

/** appProtocol http (or ws), or Istio's naming (`http`, `http-*`) without one: balanced per request. */
function isHttp(item: Json): boolean {
  if (typeof item.appProtocol === 'string') return ['http', 'kubernetes.io/ws'].includes(item.appProtocol.toLowerCase());
  return typeof item.name === 'string' && (item.name === 'http' || item.name.startsWith('http-'));
}
