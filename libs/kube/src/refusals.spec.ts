/** Fields Tide cannot honour: each refused with its document and path, and then nothing is converted. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { convertManifests } from './convert';
import { container, deployment, hpa, service } from './testing/builders';

type Json = Record<string, any>;

// [title, documents, "document:path" of the refusal, what the message says]
const REFUSED: [string, Json[], string, RegExp][] = [
  ['a second container', [deployment((d) => d.spec.template.spec.containers.push({ name: 'sidecar', image: 'envoy' }))],
    '0:spec.template.spec.containers[1]', /one container per replica/],
  ['init containers', [deployment((d) => (d.spec.template.spec.initContainers = [{ name: 'migrate', image: 'web:1' }]))],
    '0:spec.template.spec.initContainers', /no init containers/],
  ['a node affinity Tide lacks', [deployment((d) => (d.spec.template.spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }] } } }))],
    '0:spec.template.spec.affinity.nodeAffinity', /exact node labels only/],
  ['pod affinity', [deployment((d) => (d.spec.template.spec.affinity = { podAffinity: {} }))], '0:spec.template.spec.affinity.podAffinity', /next to other pods/],
  ['a required anti-affinity', [deployment((d) => (d.spec.template.spec.affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } }))],
    '0:spec.template.spec.affinity.podAntiAffinity', /no pod anti-affinity/],
  ['a Service selecting nothing', [deployment(), service((s) => (s.spec.selector = { app: 'api' }))], '1:spec.selector', /app=api matches no Deployment's pod labels/],
  ['a Service selecting two Deployments', [deployment((d) => (d.spec.template.metadata.labels.tier = 'x')), deployment((d) => (d.spec.template.metadata.labels = { app: 'api', tier: 'x' }), 'api'), service((s) => (s.spec.selector = { tier: 'x' }))],
    '2:spec.selector', /pods of "web" and "api"/],
  ['a Service without selector', [deployment(), service((s) => delete s.spec.selector)], '1:spec.selector', /no hand-made endpoints/],
  ['a LoadBalancer', [deployment(), service((s) => (s.spec.type = 'LoadBalancer'))], '1:spec.type', /no cloud load balancers/],
  ['a UDP port', [deployment(), service((s) => (s.spec.ports[0].protocol = 'UDP'))], '1:spec.ports[0].protocol', /TCP only/],
  ['client affinity', [deployment(), service((s) => (s.spec.sessionAffinity = 'ClientIP'))], '1:spec.sessionAffinity', /no client affinity/],
  ['a targetPort naming no port', [deployment(), service((s) => (s.spec.ports[0].targetPort = 'metrics'))], '1:spec.ports[0].targetPort', /"metrics" names no port/],
  ['a nodePort two services share', [deployment(), deployment(() => undefined, 'api'), service(), service(() => undefined, 'api')], '3:spec.ports[0].nodePort', /already published by service default\/web/],
  ['an HPA on memory', [deployment(), hpa((h) => (h.spec.metrics[0].resource.name = 'memory'))], '1:spec.metrics[0].resource.name', /no memory target/],
  ['an HPA on an external metric', [deployment(), hpa((h) => (h.spec.metrics = [{ type: 'External', external: {} }]))], '1:spec.metrics[0].type', /not external metrics/],
  ['an HPA on a total requests Value', [deployment(), service(), hpa((h) => (h.spec.metrics = [{ type: 'Object', object: { metric: { name: 'requests-per-second' }, describedObject: { kind: 'Service', name: 'web' }, target: { type: 'Value', value: '1k' } } }]))],
    '2:spec.metrics[0].object.target.type', /use AverageValue/],
  ['an HPA of a Deployment not in the file', [deployment(), hpa(() => undefined, 'api')], '1:spec.scaleTargetRef.name', /no Deployment "api"/],
  ['an HPA on requests of a port that is not HTTP', [deployment(), service(), hpa((h) => (h.spec.metrics = [{ type: 'Pods', pods: { metric: { name: 'http_requests' }, target: { type: 'AverageValue', averageValue: '20' } } }]))],
    '2:spec.metrics[0].pods.target.averageValue', /published HTTP ports.*\(Tide: spec.autoscale.targetRequestsPerSecond\)/],
  ['an HPA on CPU without a request', [deployment((d) => delete container(d).resources), hpa()],
    '1:spec.metrics[0].resource.target.averageUtilization', /set spec.resources.requests.cpu/],
  ['Recreate', [deployment((d) => (d.spec.strategy = { type: 'Recreate' }))], '0:spec.strategy.type', /no Recreate/],
  ['a paused rollout', [deployment((d) => (d.spec.paused = true))], '0:spec.paused', /cannot be paused/],
  ['a hostPort', [deployment((d) => (container(d).ports[0].hostPort = 80))], '0:spec.template.spec.containers[0].ports[0].hostPort', /NodePort/],
  ['args without command', [deployment((d) => (container(d).args = ['--port=8080']))], '0:spec.template.spec.containers[0].args', /ENTRYPOINT/],
  ['a variable from a pod field', [deployment((d) => (container(d).env = [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]))],
    '0:spec.template.spec.containers[0].env[0].valueFrom.fieldRef', /\$HOSTNAME/],
  ['a $(VAR) Kubernetes would expand', [deployment((d) => { container(d).env = [{ name: 'PORT', value: '8080' }]; container(d).command = ['web', '--port=$(PORT)']; })],
    '0:spec.template.spec.containers[0].command[1]', /expands \$\(PORT\)/],
  ['dropping capabilities Tide keeps', [deployment((d) => (container(d).securityContext = { capabilities: { drop: ['ALL'] } }))],
    '0:spec.template.spec.containers[0].securityContext.capabilities.drop', /cannot drop ALL yet/],
  ['adding a capability', [deployment((d) => (container(d).securityContext = { capabilities: { add: ['NET_ADMIN'] } }))],
    '0:spec.template.spec.containers[0].securityContext.capabilities.add', /cannot add NET_ADMIN/],
  ['a Localhost seccomp profile', [deployment((d) => (d.spec.template.spec.securityContext = { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } }))],
    '0:spec.template.spec.securityContext.seccompProfile', /no Localhost seccomp profiles/],
  ['runAsNonRoot without a user', [deployment((d) => (container(d).securityContext = { runAsNonRoot: true }))],
    '0:spec.template.spec.containers[0].securityContext.runAsNonRoot', /give runAsUser/],
  ['fsGroup', [deployment((d) => (d.spec.template.spec.securityContext = { fsGroup: 2000 }))], '0:spec.template.spec.securityContext.fsGroup', /group of volume files/],
  ['a preStop hook that is not a sleep', [deployment((d) => (container(d).lifecycle = { preStop: { exec: { command: ['nginx', '-s', 'quit'] } } }))],
    '0:spec.template.spec.containers[0].lifecycle.preStop', /no hook before stopping/],
  ['a service account with its token', [deployment((d) => (d.spec.template.spec.serviceAccountName = 'operator'))], '0:spec.template.spec.serviceAccountName', /no Kubernetes API token/],
  ['a misspelt field', [deployment((d) => (container(d).imagePullPolicyy = 'Always'))], '0:spec.template.spec.containers[0].imagePullPolicyy', /unknown field/],
  ['an nfs volume', [deployment((d) => (d.spec.template.spec.volumes = [{ name: 'shared', nfs: { server: 'nas', path: '/x' } }]))], '0:spec.template.spec.volumes[0].nfs', /no nfs volumes/],
  ['an emptyDir size that is no quantity', [deployment((d) => (d.spec.template.spec.volumes = [{ name: 'tmp', emptyDir: { sizeLimit: 'big' } }]))],
    '0:spec.template.spec.volumes[0].emptyDir.sizeLimit', /invalid quantity "big".*\(Tide: spec.volumes\[0\].emptyDir.sizeLimit\)/],
  ['a claim shared by nodes', [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteMany'] } }],
    '0:spec.accessModes', /cannot be shared/],
  ['a name too long for a Tide service', [deployment(() => undefined, 'a-very-long-deployment-name-that-tide-cannot-use-as-is')], '0:metadata.name', /at most 50 characters/],
  ['a selector that misses the template', [deployment((d) => (d.spec.selector.matchLabels = { app: 'other' }))], '0:spec.selector', /does not match spec.template.metadata.labels/],
  ['a Secret value in clear', [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: 'hunter2!' } }], '0:data.password', /must be base64/],
  ['an Ingress', [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web' } }], '0:kind', /does not convert "Ingress"/],
  ['an old Deployment apiVersion', [{ apiVersion: 'extensions/v1beta1', kind: 'Deployment', metadata: { name: 'web' } }], '0:apiVersion', /converted from apps\/v1/],
  ['the same service twice', [deployment(), { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' }, spec: { replicas: 1, image: 'x' } }], '1:metadata.name', /Service default\/web is made twice/],
];

describe('convertManifests refuses what would change behaviour', () => {
  for (const [title, documents, where, message] of REFUSED) {
    it(`refuses ${title} at ${where}`, () => {
      const result = convertManifests(documents);
      const found = result.errors.find((e) => `${e.document}:${e.path}` === where);
      assert.ok(found, `an error at ${where}, got ${JSON.stringify(result.errors)}`);
      assert.match(found.message, message);
      assert.deepEqual(result.objects, [], 'nothing is converted when anything is refused');
    });
  }
});
