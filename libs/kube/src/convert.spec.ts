import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { validateDocument, validateObject } from '@tide/api';
import { convertManifests } from './convert';
import { sourceOf } from './origin';
import { container, deployment, hpa, service } from './testing/builders';
import { KUBECTL_LIST_YAML, SHOP_SERVICE, SHOP_YAML } from './testing/shop.manifests';

/** As tsctl reads Kubernetes documents: YAML 1.1, as Kubernetes itself (0400 is octal). */
function docs(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());
}

const paths = (issues: { document: number; path: string }[]) => issues.map((i) => `${i.document}:${i.path}`);

describe('convertManifests: a typical web tier', () => {
  const result = convertManifests(docs(SHOP_YAML));

  it('converts Namespace, ConfigMap, Secret, Deployment + Service + HPA without errors', () => {
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Namespace/shop', 'ConfigMap/web-config', 'Secret/db', 'Service/web']);
  });

  it('makes one Tide service of the Deployment, its Service (nodePort → publish) and its HPA', () => {
    assert.deepEqual(result.objects[3], SHOP_SERVICE);
  });

  it('keeps ConfigMap and Secret as written (stringData too), in tide/v1', () => {
    assert.deepEqual(result.objects[1], {
      apiVersion: 'tide/v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop', labels: { app: 'web' } },
      data: { LOG_LEVEL: 'info', 'nginx.conf': 'worker_processes 1;\n' },
    });
    assert.deepEqual(result.objects[2], {
      apiVersion: 'tide/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, type: 'Opaque',
      data: { username: 'c2hvcA==' }, stringData: { password: 's3cret' },
    });
  });

  it('every object it returns passes Tide validation', () => {
    for (const object of result.objects) assert.ok(validateObject(object, 0).ok, `${object.kind}/${object.metadata.name}`);
  });

  it('warns about the harmless fields it leaves out, with their paths', () => {
    assert.deepEqual(paths(result.warnings), [
      '3:metadata.annotations',
      '3:spec.revisionHistoryLimit',
      '3:spec.template.spec.containers[0].imagePullPolicy',
      '5:spec.metrics[1].pods.metric.name',
      '5:spec',
    ]);
    assert.match(result.warnings[2].message, /ignored: each node runs the image from its own store/);
    assert.match(result.warnings[3].message, /read as requests per second per replica/);
    assert.match(result.warnings[4].message, /Tide's own policy.*policy: hpa-default/);
  });

  it('knows where each Tide field came from', () => {
    const origin = result.origins[3];
    assert.deepEqual(sourceOf(origin, 'spec.volumes[2].emptyDir.sizeLimit'), { document: 3, path: 'spec.template.spec.volumes[2].emptyDir.sizeLimit' });
    assert.deepEqual(sourceOf(origin, 'spec.env.DB_PASSWORD.valueFrom.secretKeyRef.key'), { document: 3, path: 'spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.key' });
    assert.deepEqual(sourceOf(origin, 'spec.ports[0].publish'), { document: 4, path: 'spec.ports[0].nodePort' });
    assert.deepEqual(sourceOf(origin, 'spec.autoscale.targetRequestsPerSecond'), { document: 5, path: 'spec.metrics[1].pods.target.averageValue' });
    assert.deepEqual(sourceOf(origin, 'spec.autoscale.behavior.scaleDown'), { document: 5, path: 'spec.behavior.scaleDown' });
    assert.deepEqual(sourceOf(origin, 'spec.user'), { document: 3, path: 'spec.template.spec.containers[0].securityContext.runAsUser' });
  });
});

describe('convertManifests: what kubectl prints', () => {
  it('takes a List, ignoring (with a warning) what Kubernetes set', () => {
    const result = convertManifests(docs(KUBECTL_LIST_YAML));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.objects, [{
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default', labels: { app: 'hello' } },
      spec: {
        replicas: 2, image: 'hello:1', ports: [{ containerPort: 8080, port: 80, publish: 31234 }], terminationGracePeriodSeconds: 30,
        update: { maxSurge: '25%', maxUnavailable: '25%', progressDeadlineSeconds: 600 },
      },
    }]);
    const warned = paths(result.warnings);
    for (const path of ['0:items[0].metadata.uid', '0:items[0].status', '0:items[0].spec.template.spec.dnsPolicy', '0:items[1].spec.clusterIP', '0:items[1].status']) {
      assert.ok(warned.includes(path), `a warning at ${path}: ${warned.join(', ')}`);
    }
  });
});

describe('convertManifests: Tide and Kubernetes objects mixed', () => {
  it('passes tide/v1 objects through as written and checks them', () => {
    const tide = { apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'api' }, spec: { replicas: 1, image: 'api:1' } };
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api' }, data: { A: '1' } };
    const result = convertManifests([tide, cm]);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.objects, [{ ...cm, apiVersion: 'tide/v1' }, tide]);
    const bad = convertManifests([{ ...tide, spec: { replicas: -1, image: 'api:1' } }, cm]);
    assert.deepEqual(paths(bad.errors), ['0:spec.replicas']);
    assert.deepEqual(bad.objects, [], 'a refusal returns nothing');
  });
});

describe('convertManifests: what the control plane takes today', () => {
  it('a Deployment, its NodePort Service and its HPA, without config objects or volumes, pass the server\'s own validation', () => {
    const result = convertManifests([
      deployment((d) => { container(d).readinessProbe = { httpGet: { path: '/', port: 'http' } }; d.spec.strategy = { rollingUpdate: { maxSurge: '50%' } }; }),
      service((s) => (s.spec.ports[0].appProtocol = 'http')),
      hpa((h) => h.spec.metrics.push({ type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '30' } } })),
    ]);
    assert.deepEqual(result.errors, []);
    const verdict = validateDocument(result.objects[0], 0);
    assert.ok(verdict.ok, JSON.stringify(!verdict.ok && verdict.errors));
    assert.deepEqual(verdict.object.spec.autoscale, { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70, targetRequestsPerSecond: 30 });
  });
});
