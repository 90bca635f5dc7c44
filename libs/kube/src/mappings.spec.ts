/** Kubernetes fields Tide has in another shape, and harmless ones accepted with a warning. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Service } from '@tide/api';
import { convertManifests } from './convert';
import { container, deployment, hpa, service } from './testing/builders';

type Json = Record<string, any>;

function converted(documents: Json[]): { spec: Json; warnings: string[] } {
  const result = convertManifests(documents);
  assert.deepEqual(result.errors, [], 'no refusal');
  const found = result.objects.find((o) => o.kind === 'Service') as Service;
  return { spec: found.spec as unknown as Json, warnings: result.warnings.map((w) => `${w.document}:${w.path}: ${w.message}`) };
}

describe('convertManifests maps', () => {
  // [title, documents, the Tide spec fields expected]
  const MAPPED: [string, Json[], Json][] = [
    ['a required node affinity of single values to a node selector',
      [deployment((d) => (d.spec.template.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] } } }))],
      { placement: { nodeSelector: { zone: 'b' } } }],
    ['nodeSelector and a hostname spread to placement',
      [deployment((d) => { d.spec.template.spec.nodeSelector = { disk: 'ssd' }; d.spec.template.spec.topologySpreadConstraints = [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }]; })],
      { placement: { nodeSelector: { disk: 'ssd' }, maxSkew: 2 } }],
    ['hostNetwork to network: host', [deployment((d) => (d.spec.template.spec.hostNetwork = true))], { network: 'host' }],
    ['a claim to a node-local volume, read-only in every mount when the claim is',
      [deployment((d) => { d.spec.template.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'pgdata', readOnly: true } }]; container(d).volumeMounts = [{ name: 'data', mountPath: '/data' }]; })],
      { volumes: [{ name: 'data', localVolume: { name: 'pgdata' } }], volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }] }],
    ['a CPU AverageValue to a percentage of the request (50m of 100m)',
      [deployment(), hpa((h) => (h.spec.metrics[0].resource.target = { type: 'AverageValue', averageValue: '50m' }))],
      { autoscale: { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 50 } }],
    ['an HPA without metrics to Kubernetes\' default of 80% CPU', [deployment(), hpa((h) => delete h.spec.metrics)],
      { autoscale: { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 80 } }],
    ['an autoscaling/v1 HPA', [deployment(), hpa((h) => { h.apiVersion = 'autoscaling/v1'; delete h.spec.metrics; h.spec.targetCPUUtilizationPercentage = 65; })],
      { autoscale: { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 65 } }],
    ['replicas outside the HPA bounds into them (5 → maxReplicas 3)', [deployment((d) => (d.spec.replicas = 5)), hpa((h) => (h.spec.maxReplicas = 3))], { replicas: 3 }],
    ['a requests-per-second Object metric on an http port',
      [deployment(), service((s) => (s.spec.ports[0].appProtocol = 'http')), hpa((h) => (h.spec.metrics = [{ type: 'Object', object: { metric: { name: 'requests-per-second' }, describedObject: { apiVersion: 'v1', kind: 'Service', name: 'web' }, target: { type: 'AverageValue', averageValue: '1k' } } }]))],
      { ports: [{ name: 'http', containerPort: 8080, port: 80, publish: 30080, protocol: 'HTTP' }], autoscale: { minReplicas: 2, maxReplicas: 10, targetRequestsPerSecond: 1000 } }],
    ['a ClusterIP port to the service IP\'s port, without publishing it', [deployment((d) => delete container(d).ports), service((s) => { s.spec.type = 'ClusterIP'; delete s.spec.ports[0].nodePort; })],
      { ports: [{ containerPort: 8080, port: 80 }] }],
    ['a ClusterIP port named http to an HTTP port', [deployment(), service((s) => { s.spec.type = 'ClusterIP'; delete s.spec.ports[0].nodePort; s.spec.ports[0].name = 'http'; })],
      { ports: [{ name: 'http', containerPort: 8080, port: 80, protocol: 'HTTP' }] }],
    ['a NodePort without nodePort to its port', [deployment(), service((s) => delete s.spec.ports[0].nodePort)], { ports: [{ name: 'http', containerPort: 8080, port: 80, publish: 80 }] }],
    ['runAsUser of the pod with the container\'s group', [deployment((d) => { d.spec.template.spec.securityContext = { runAsUser: 1000, runAsNonRoot: true }; container(d).securityContext = { runAsGroup: 50, allowPrivilegeEscalation: false, capabilities: { drop: ['NET_ADMIN'] } }; })],
      { user: '1000:50' }],
    ['an Unconfined seccomp profile of the container', [deployment((d) => (container(d).securityContext = { seccompProfile: { type: 'Unconfined' } }))],
      { securityContext: { seccompProfile: { type: 'Unconfined' } } }],
    ['RuntimeDefault, Tide\'s default', [deployment((d) => (d.spec.template.spec.securityContext = { seccompProfile: { type: 'RuntimeDefault' } }))],
      { securityContext: undefined }],
  ];
  for (const [title, documents, expected] of MAPPED) {
    it(title, () => {
      const { spec } = converted(documents);
      for (const [field, value] of Object.entries(expected)) assert.deepEqual(spec[field], value, field);
    });
  }
});

describe('convertManifests accepts with a warning', () => {
  // [title, documents, the "document:path: message" a warning must match]
  const WARNED: [string, Json[], RegExp][] = [
    ['tolerations', [deployment((d) => (d.spec.template.spec.tolerations = [{ key: 'gpu', operator: 'Exists' }]))], /^0:spec.template.spec.tolerations: ignored: Tide nodes have no taints/],
    ['a preStop sleep', [deployment((d) => (container(d).lifecycle = { preStop: { exec: { command: ['sh', '-c', 'sleep 5'] } } }))], /^0:spec.template.spec.containers\[0\].lifecycle.preStop: ignored: .*before SIGTERM/],
    ['a preferred anti-affinity of its own pods by host', [deployment((d) => (d.spec.template.spec.affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } } }] } }))],
      /^0:spec.template.spec.affinity.podAntiAffinity: ignored: Tide spreads/],
    ['a hostPath (admin only)', [deployment((d) => (d.spec.template.spec.volumes = [{ name: 'logs', hostPath: { path: '/var/log' } }]))], /^0:spec.template.spec.volumes\[0\].hostPath: .*admin only/],
    ['a privileged container (admin only)', [deployment((d) => (container(d).securityContext = { privileged: true }))], /^0:spec.template.spec.containers\[0\].securityContext.privileged: .*admin only/],
    ['an Unconfined seccomp profile (admin only)', [deployment((d) => (d.spec.template.spec.securityContext = { seccompProfile: { type: 'Unconfined' } }))],
      /^0:spec.template.spec.securityContext.seccompProfile: .*admin only/],
    ['a Service named otherwise', [deployment(), service((s) => (s.metadata.name = 'web-svc'))], /^1:metadata.name: its ports go to Tide service "web" .*web\.default\.svc\.tide/],
    ['a pod label no selector uses', [deployment((d) => (d.spec.template.metadata.labels.version = 'v1'))], /^0:spec.template.metadata.labels.version: not kept/],
    ['a ConfigMap not in the file', [deployment((d) => (container(d).envFrom = [{ configMapRef: { name: 'settings' } }]))], /^0:spec.template.spec.containers\[0\].envFrom\[0\].configMapRef: ConfigMap "settings" is not in this file/],
    ['a key the file\'s Secret lacks', [deployment((d) => (container(d).env = [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }])), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'x' } }],
      /^0:spec.template.spec.containers\[0\].env\[0\].valueFrom.secretKeyRef: Secret "db" of this file has no key "pw"/],
    ['a claim document', [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      /^0:spec.resources: ignored: .*no size limit/],
  ];
  for (const [title, documents, expected] of WARNED) {
    it(title, () => {
      const result = convertManifests(documents);
      assert.deepEqual(result.errors, [], 'no refusal');
      const lines = result.warnings.map((w) => `${w.document}:${w.path}: ${w.message}`);
      assert.ok(lines.some((line) => expected.test(line)), `a warning matching ${expected}, got:\n${lines.join('\n')}`);
    });
  }
});
