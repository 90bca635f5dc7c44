/**
 * A Deployment's pod template spec → the Tide Service spec: the one container, volumes, host network,
 * grace period, restart policy, node selector, and the placement rules Tide can honour.
 */
import { convertContainer } from './container.convert';
import { Labels, selectorMatches } from './labels';
import { OriginRecorder } from './origin';
import {
  DocContext, Json, Report, Rules, Verdict, applyRules, ignored, isObject, listAt, objectAt, onlyDefault, refused, warnUnlessEmpty,
} from './report';
import { convertSecurity } from './security.convert';

const HOSTNAME = 'kubernetes.io/hostname';

const POD_RULES: Rules = {
  containers: 'use', volumes: 'use', restartPolicy: 'use', terminationGracePeriodSeconds: 'use', hostNetwork: 'use',
  nodeSelector: 'use', securityContext: 'use', affinity: 'use', topologySpreadConstraints: 'use',
  serviceAccountName: 'use', serviceAccount: 'use', automountServiceAccountToken: 'use',
  initContainers: onlyDefault([], 'Tide runs one container per replica: no init containers'),
  ephemeralContainers: onlyDefault([], 'Tide runs one container per replica'),
  tolerations: warnUnlessEmpty('Tide nodes have no taints: any node may take the replicas'),
  imagePullSecrets: warnUnlessEmpty("each node runs images from its own store: no registry credentials are used"),
  dnsPolicy: ignored('Tide has no cluster DNS: containers resolve names as their node does'),
  dnsConfig: onlyDefault([], "Tide does not write a container's resolv.conf"),
  hostAliases: onlyDefault([], "Tide does not write a container's /etc/hosts"),
  hostname: refused("a replica's hostname is its name in Tide"),
  subdomain: refused('Tide has no cluster DNS'),
  setHostnameAsFQDN: onlyDefault([false], "a replica's hostname is its name in Tide"),
  hostPID: onlyDefault([false], 'a Tide replica always has its own PID namespace'),
  hostIPC: onlyDefault([false], 'a Tide replica always has its own IPC namespace'),
  hostUsers: onlyDefault([true], 'Tide has no user namespaces'),
  shareProcessNamespace: onlyDefault([false], 'Tide runs one container per replica'),
  priorityClassName: ignored('Tide has no priorities or preemption'),
  priority: ignored('Tide has no priorities or preemption'),
  preemptionPolicy: ignored('Tide has no priorities or preemption'),
  schedulerName: onlyDefault(['default-scheduler'], 'Tide has one scheduler'),
  runtimeClassName: onlyDefault([], 'Tide has one container runtime'),
  overhead: ignored('Tide counts the requests only'),
  readinessGates: onlyDefault([], 'readiness in Tide is the readiness probe'),
  enableServiceLinks: (v) => (v === true ? ignored('Tide does not set the *_SERVICE_HOST variables') : undefined),
  os: (v) => (isObject(v) && v.name === 'linux' ? undefined : refused('Tide runs Linux containers')),
  nodeName: refused("Tide's scheduler places every replica"),
  activeDeadlineSeconds: refused('a Deployment has no deadline'),
  resourceClaims: onlyDefault([], 'Tide has no dynamic resource claims'),
  schedulingGates: onlyDefault([], 'Tide has no scheduling gates'),
  resources: refused('Tide takes resources from the container, not the pod'),
};
const VOLUME_RULES: Rules = { name: 'use', emptyDir: 'use', configMap: 'use', secret: 'use', hostPath: 'use', persistentVolumeClaim: 'use' };
const VOLUME_SOURCE_RULES: Record<string, Rules> = {
  emptyDir: { medium: 'use', sizeLimit: 'use' },
  configMap: { name: 'use', items: 'use', defaultMode: 'use', optional: 'use' },
  secret: { secretName: 'use', items: 'use', defaultMode: 'use', optional: 'use' },
  hostPath: { path: 'use', type: 'use' },
  persistentVolumeClaim: { claimName: 'use', readOnly: 'use' },
};

export interface PodResult {
  spec: Json;
  /** The container's port names (name → number), for Services whose targetPort names one. */
  portNames: Map<string, number>;
  /** Claims named by persistentVolumeClaim volumes. */
  claims: string[];
}

export function convertPodSpec(report: Report, ctx: DocContext, pod: Json, path: string, labels: Labels, origins: OriginRecorder): PodResult {
  applyRules(report, ctx, path, pod, POD_RULES);
  const containers = listAt(report, ctx, pod.containers, `${path}.containers`);
  if (containers.length === 0) report.refuse(ctx, `${path}.containers`, 'required: one container');
  containers.slice(1).forEach((_, i) => report.refuse(ctx, `${path}.containers[${i + 1}]`, 'Tide runs one container per replica: a second container would be left out'));
  const containerPath = `${path}.containers[0]`;
  const container = objectAt(report, ctx, containers[0], containerPath) ?? {};
  const { spec, portNames } = convertContainer(report, ctx, container, containerPath, origins);
  Object.assign(spec, convertSecurity(report, ctx, pod.securityContext, `${path}.securityContext`, container.securityContext, `${containerPath}.securityContext`, origins));
  const take = (field: string, tide: string, value: unknown) => {
    spec[tide] = value;
    origins.record(`spec.${tide}`, `${path}.${field}`);
  };
  if (pod.terminationGracePeriodSeconds !== undefined) take('terminationGracePeriodSeconds', 'terminationGracePeriodSeconds', pod.terminationGracePeriodSeconds);
  if (pod.restartPolicy !== undefined && pod.restartPolicy !== 'Always') {
    report.refuse(ctx, `${path}.restartPolicy`, 'a Deployment restarts its pods Always (Kubernetes refuses anything else)');
  }
  if (pod.hostNetwork === true) {
    take('hostNetwork', 'network', 'host');
    report.warn(ctx, `${path}.hostNetwork`, "the node's network is admin only in Tide");
  }
  const placement = convertPlacement(report, ctx, pod, path, labels, origins);
  if (placement) spec.placement = placement;
  checkServiceAccount(report, ctx, pod, path);
  const { volumes, claims } = convertVolumes(report, ctx, pod.volumes, `${path}.volumes`, origins);
  if (volumes.length) spec.volumes = volumes;
  markReadOnlyClaims(spec, volumes, pod.volumes);
  return { spec, portNames, claims };
}

function convertVolumes(report: Report, ctx: DocContext, value: unknown, path: string, origins: OriginRecorder): { volumes: Json[]; claims: string[] } {
  const claims: string[] = [];
  const volumes = listAt(report, ctx, value, path).map((item, i) => {
    const at = `${path}[${i}]`;
    const volume = objectAt(report, ctx, item, at) ?? {};
    applyRules(report, ctx, at, volume, Object.fromEntries(Object.entries(VOLUME_RULES).concat(
      Object.keys(volume).filter((k) => !(k in VOLUME_RULES)).map((k) => [k, refused(`Tide has no ${k} volumes (it has emptyDir, configMap, secret, hostPath and persistentVolumeClaim as a node-local volume)`)]),
    )));
    origins.record(`spec.volumes[${i}]`, at);
    const out: Json = { name: volume.name };
    for (const source of Object.keys(VOLUME_SOURCE_RULES)) {
      const given = objectAt(report, ctx, volume[source], `${at}.${source}`);
      if (!given) continue;
      applyRules(report, ctx, `${at}.${source}`, given, VOLUME_SOURCE_RULES[source]);
      if (source !== 'persistentVolumeClaim') {
        out[source] = given;
        if (source === 'hostPath') report.warn(ctx, `${at}.hostPath`, "a path of the node is admin only in Tide");
        continue;
      }
      out.localVolume = { name: given.claimName };
      origins.record(`spec.volumes[${i}].localVolume`, `${at}.persistentVolumeClaim`);
      origins.record(`spec.volumes[${i}].localVolume.name`, `${at}.persistentVolumeClaim.claimName`);
      if (typeof given.claimName === 'string') claims.push(given.claimName);
      report.warn(ctx, `${at}.persistentVolumeClaim`, `becomes Tide's node-local volume "${String(given.claimName)}": made on first use, it stays on that node and every replica using it runs there`);
    }
    return out;
  });
  return { volumes, claims };
}

/** A claim mounted read-only (persistentVolumeClaim.readOnly) is read-only in every mount of it. */
function markReadOnlyClaims(spec: Json, volumes: Json[], source: unknown): void {
  const readOnly = new Set(volumes.filter((_, i) => Array.isArray(source) && isObject(source[i]) && isObject(source[i].persistentVolumeClaim)
    && (source[i].persistentVolumeClaim as Json).readOnly === true).map((v) => v.name));
  for (const mount of (spec.volumeMounts as Json[] | undefined) ?? []) if (readOnly.has(mount.name)) mount.readOnly = true;
}

function checkServiceAccount(report: Report, ctx: DocContext, pod: Json, path: string): void {
  const field = pod.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount';
  const account = pod[field];
  if (account === undefined || account === 'default') return;
  if (pod.automountServiceAccountToken === false) {
    report.warn(ctx, `${path}.${field}`, 'ignored: Tide has no service accounts (and this one mounts no token)');
  } else {
    report.refuse(ctx, `${path}.${field}`, 'Tide has no service accounts: the container would get no Kubernetes API token (set automountServiceAccountToken: false if it needs none)');
  }
}

/** nodeSelector, a required node affinity of single values, spreading by hostname. */
function convertPlacement(report: Report, ctx: DocContext, pod: Json, path: string, labels: Labels, origins: OriginRecorder): Json | undefined {
  const placement: Json = {};
  const nodeSelector: Record<string, unknown> = { ...(objectAt(report, ctx, pod.nodeSelector, `${path}.nodeSelector`) ?? {}) };
  const affinity = objectAt(report, ctx, pod.affinity, `${path}.affinity`);
  if (affinity) {
    applyRules(report, ctx, `${path}.affinity`, affinity, {
      nodeAffinity: (v) => nodeAffinityVerdict(v, nodeSelector),
      podAntiAffinity: (v) => antiAffinityVerdict(v, labels),
      podAffinity: refused('Tide cannot place replicas next to other pods; it spreads a service over nodes'),
    });
  }
  if (Object.keys(nodeSelector).length) {
    placement.nodeSelector = nodeSelector;
    origins.record('spec.placement.nodeSelector', pod.nodeSelector !== undefined ? `${path}.nodeSelector` : `${path}.affinity.nodeAffinity`);
  }
  const spread = convertSpread(report, ctx, pod.topologySpreadConstraints, `${path}.topologySpreadConstraints`, labels);
  if (spread) {
    placement.maxSkew = spread.maxSkew;
    origins.record('spec.placement.maxSkew', `${spread.path}.maxSkew`);
  }
  return Object.keys(placement).length ? placement : undefined;
}

/** One required term whose expressions are all `In` one value is a node selector; anything else is not. */
function nodeAffinityVerdict(value: unknown, nodeSelector: Record<string, unknown>): Verdict | undefined {
  const required = isObject(value) ? value.requiredDuringSchedulingIgnoredDuringExecution : undefined;
  const terms = isObject(required) && Array.isArray(required.nodeSelectorTerms) ? required.nodeSelectorTerms : [];
  const expressions = terms.length === 1 && isObject(terms[0]) && Array.isArray(terms[0].matchExpressions) ? terms[0].matchExpressions : [];
  const simple = isObject(value) && Object.keys(value).length === 1 && isObject(required) && Object.keys(required).length === 1
    && isObject(terms[0]) && Object.keys(terms[0]).length === 1 && expressions.length > 0
    && expressions.every((e) => isObject(e) && e.operator === 'In' && Array.isArray(e.values) && e.values.length === 1);
  if (!simple) return refused('Tide places by exact node labels only (nodeSelector, or one required term of In with one value each)');
  for (const e of expressions as Json[]) nodeSelector[String(e.key)] = String((e.values as unknown[])[0]);
  return undefined;
}

/** Preferring other nodes than the service's own pods is what Tide's spreading does anyway. */
function antiAffinityVerdict(value: unknown, labels: Labels): Verdict | undefined {
  const preferred = isObject(value) ? value.preferredDuringSchedulingIgnoredDuringExecution : undefined;
  const onlyPreferred = isObject(value) && Object.keys(value).length === 1 && Array.isArray(preferred);
  const selfByHost = onlyPreferred && preferred.every((p) => {
    const term = isObject(p) ? p.podAffinityTerm : undefined;
    return isObject(term) && term.topologyKey === HOSTNAME && isObject(term.labelSelector) && selectorMatches(term.labelSelector, labels);
  });
  if (selfByHost) return ignored("Tide spreads a service's replicas over nodes by default");
  return refused("Tide has no pod anti-affinity beyond spreading a service's own replicas over nodes (a preferred term on kubernetes.io/hostname)");
}

const SPREAD_RULES: Rules = {
  maxSkew: 'use', topologyKey: 'use', whenUnsatisfiable: 'use', labelSelector: 'use',
  minDomains: ignored('Tide counts every eligible node'),
  nodeAffinityPolicy: ignored('Tide counts the nodes the replica may go to'),
  nodeTaintsPolicy: ignored('Tide nodes have no taints'),
  matchLabelKeys: ignored('Tide spreads the replicas of a service, whatever their template'),
};

function convertSpread(report: Report, ctx: DocContext, value: unknown, path: string, labels: Labels): { maxSkew: unknown; path: string } | undefined {
  let found: { maxSkew: unknown; path: string } | undefined;
  listAt(report, ctx, value, path).forEach((item, i) => {
    const at = `${path}[${i}]`;
    const c = objectAt(report, ctx, item, at) ?? {};
    applyRules(report, ctx, at, c, SPREAD_RULES);
    const own = isObject(c.labelSelector) && selectorMatches(c.labelSelector, labels);
    if (c.topologyKey !== HOSTNAME || !own) {
      return report.refuse(ctx, at, "Tide spreads a service's own replicas over nodes only (topologyKey kubernetes.io/hostname, a labelSelector of its pods)");
    }
    if (c.whenUnsatisfiable === 'ScheduleAnyway') return report.warn(ctx, at, "ignored: Tide spreads a service's replicas over nodes by default");
    found = { maxSkew: c.maxSkew, path: at };
    report.warn(ctx, at, "becomes placement.maxSkew: Tide lets a node hold the service's fair share over ten nodes plus maxSkew, not the least-loaded node plus maxSkew");
  });
  return found;
}
