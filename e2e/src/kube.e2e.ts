/**
 * Issue 19 acceptance, Kubernetes manifests: ONE file in Kubernetes form (a v1 ConfigMap, a v1
 * Secret, an apps/v1 Deployment reading the ConfigMap as env and mounting the Secret, a NodePort
 * v1 Service selecting it, an autoscaling/v2 HPA for it) is applied with `tsctl apply -f`; its
 * pods run and are ready; a container sees the ConfigMap's value in its env and the Secret's as a
 * file; the published port answers over HTTP on every node; the HPA's numbers drive Tide's
 * autoscaler (minReplicas 2 over the Deployment's 1; a scale below it brought back by the
 * autoscaler, whose floor it is; `describe` shows the bounds and the CPU target);
 * `tsctl diff -f` of the same file says no difference (exit 0), and after an edit shows it
 * (exit 1), the Secret's change named and its values never shown; a dry run of the edit writes
 * nothing. The Secret's value is in no etcd value, no process log, no diff or dry-run output and
 * not in a view role's `tsctl get -o yaml`. A file with fields Tide cannot honour is refused with
 * their paths, and nothing of it is applied.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Replica, Service } from '@tide/api';
import { TestCluster, running, waitFor } from './harness';
import { get } from './load.client';

const BASE = 23600;
const PUBLISHED = BASE + 40;
const SECRET = `kube-e2e-${randomBytes(12).toString('hex')}`;
const EDITED_SECRET = `kube-e2e-${randomBytes(12).toString('hex')}`;
const secretForms = (value: string) => [value, Buffer.from(value).toString('base64')];

/** The web tier as a Kubernetes user keeps it; `edit` changes the ConfigMap value, the Secret, the Deployment's env and image tag. */
const manifest = (edit = false) => `apiVersion: v1
kind: ConfigMap
metadata: { name: web-config }
data:
  GREETING: ${edit ? 'bonjour-kube' : 'hello-kube'}
---
apiVersion: v1
kind: Secret
metadata: { name: web-secret }
type: Opaque
stringData:
  token: ${edit ? EDITED_SECRET : SECRET}
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: ${edit ? 'busybox:edited' : 'busybox'}
          command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"]
          ports: [{ name: http, containerPort: 8080 }]
          env:
            - name: GREETING
              valueFrom: { configMapKeyRef: { name: web-config, key: GREETING } }
            - { name: RELEASE, value: "${edit ? 2 : 1}" }
          resources:
            requests: { cpu: 50m, memory: 32Mi }
            limits: { cpu: 200m, memory: 64Mi }
          readinessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 1
          volumeMounts:
            - { name: secret, mountPath: /etc/secret, readOnly: true }
      volumes:
        - name: secret
          secret: { secretName: web-secret }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http, nodePort: ${PUBLISHED} }]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 4
  metrics:
    - type: Resource
      resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } }
`;

/** A file Tide cannot honour (a Recreate strategy, an HPA on memory) beside a ConfigMap that must not be applied either. */
const UNHONOURABLE = `apiVersion: v1
kind: ConfigMap
metadata: { name: refused-config }
data: { A: b }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: refused }
spec:
  selector: { matchLabels: { app: refused } }
  strategy: { type: Recreate }
  template:
    metadata: { labels: { app: refused } }
    spec:
      containers:
        - { name: refused, image: busybox, command: ["sleep", "3600"], resources: { requests: { cpu: 10m } } }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: refused }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: refused }
  maxReplicas: 3
  metrics:
    - type: Resource
      resource: { name: memory, target: { type: Utilization, averageUtilization: 50 } }
`;

describe('a Kubernetes manifest: Deployment, Service, HPA, ConfigMap and Secret', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dir: string;
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  before(async () => {
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: '100.64.228.0/22' });
    dir = fs.mkdtempSync(path.join(cluster.stateDir, 'manifests-'));
  });
  after(async () => {
    await cluster?.stop();
  });

  const web = async () => (await cluster.services()).find((s: Service) => s.metadata.name === 'web')!;
  const readyReplicas = (count: number) => waitFor(`${count} ready web replicas`, async () => {
    const ready = running(await cluster.replicas('web')).filter((r: Replica) => r.status?.ready && !r.metadata.deletionTimestamp);
    return ready.length === count ? ready : undefined;
  }, 180_000);
  const exec = async (replica: string, script: string) => {
    const run = await cluster.tsctl(['exec', replica, '--', 'sh', '-c', script]);
    assert.equal(run.code, 0, run.stderr);
    return run.stdout.trim();
  };
  const assertNoSecret = (text: string, where: string) => {
    for (const form of [...secretForms(SECRET), ...secretForms(EDITED_SECRET)]) assert.ok(!text.includes(form), `the Secret's value in ${where}`);
  };

  it('applies the file; HPA minReplicas 2 over the Deployment\'s 1: two ready replicas', async () => {
    const applied = await cluster.tsctl(['apply', '-f', write('web.yaml', manifest())]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, 'configmap/web-config created\nsecret/web-secret created\nservice/web created\n');
    await readyReplicas(2);
    const service = await web();
    assert.deepEqual(service.spec.autoscale, { minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 50 });
    assert.deepEqual(service.spec.ports, [{ containerPort: 8080, name: 'http', protocol: 'HTTP', port: 80, publish: PUBLISHED }]);
  });

  it('gives a container the ConfigMap value in its env and the Secret as a file', async () => {
    const [replica] = await readyReplicas(2);
    assert.equal(await exec(replica.metadata.name, 'echo "$GREETING"'), 'hello-kube');
    assert.equal(await exec(replica.metadata.name, 'cat /etc/secret/token'), SECRET);
  });

  it('answers over HTTP on every node\'s published port', async () => {
    const replicas = (await readyReplicas(2)).map((r) => r.metadata.name);
    for (const node of await cluster.nodeList()) {
      const answer = await waitFor(`an answer on ${node.spec.address}:${PUBLISHED}`, async () => {
        const response = await get(node.spec.address, PUBLISHED);
        return response.status === 200 ? response : undefined;
      }, 60_000);
      assert.ok(replicas.includes(answer.body.trim()), `answered by a web replica: ${answer.body}`);
    }
  });

  it('lets the HPA\'s numbers drive Tide\'s autoscaler: scaled below minReplicas, it restores the floor', async () => {
    const observed = await waitFor('the autoscaler observing web', async () => {
      const status = (await web()).status?.autoscale;
      return status && status.floor === 2 && status.currentReplicas === 2 ? status : undefined;
    }, 60_000);
    assert.equal(observed.desiredReplicas, 2);
    const described = await cluster.tsctl(['describe', 'service', 'web']);
    assert.match(described.stdout, /Autoscale: +2-4 replicas, policy tide/);
    assert.match(described.stdout, /Targets: +cpu 50% of the request/);
    // The autoscaler's own decision (status.autoscale.lastDecisions) brings the count back, its floor the HPA's minReplicas.
    assert.equal((await cluster.tsctl(['scale', 'service', 'web', '--replicas', '1'])).code, 0);
    const restored = await waitFor('the autoscaler from 1 back to 2', async () => {
      const service = await web();
      const decision = service.status?.autoscale?.lastDecisions.find((d) => d.from === 1 && d.to === 2);
      return service.spec.replicas === 2 && decision ? decision : undefined;
    }, 60_000);
    assert.match(restored.message, /^1 → 2 replicas \(\w+\); .*floor 2$/);
    await readyReplicas(2);
  });

  it('diffs the same file clean (exit 0), an edited one with the changes (exit 1), the Secret\'s named and never shown', async () => {
    const same = await cluster.tsctl(['diff', '-f', path.join(dir, 'web.yaml')]);
    assert.deepEqual([same.code, same.stdout], [0, ''], same.stderr);
    const edited = await cluster.tsctl(['diff', '-f', write('edited.yaml', manifest(true))]);
    assert.equal(edited.code, 1, edited.stderr);
    assert.match(edited.stdout, /^# configmap\/web-config \(namespace default\) changed: data\.GREETING$/m);
    assert.match(edited.stdout, /^# secret\/web-secret \(namespace default\) changed: data\.token$/m);
    assert.match(edited.stdout, /^# service\/web \(namespace default\) changed$/m);
    const changed = edited.stdout.split('\n').filter((line) => /^[-+][^-+]/.test(line));
    for (const line of ['-  GREETING: hello-kube', '+  GREETING: bonjour-kube', '-  token: (redacted)', '+  token: (changed, redacted)',
      '-  image: busybox', '+  image: busybox:edited', '-    RELEASE: "1"', '+    RELEASE: "2"']) {
      assert.ok(changed.includes(line), `${line} in:\n${edited.stdout}`);
    }
    assertNoSecret(edited.stdout + edited.stderr, 'the diff');
  });

  it('dry-runs the edit: names what would change, writes nothing', async () => {
    const dry = await cluster.tsctl(['apply', '--dry-run=server', '-f', path.join(dir, 'edited.yaml')]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, [
      'configmap/web-config configured (server dry run): data.GREETING',
      'secret/web-secret configured (server dry run): data.token',
      'service/web configured (server dry run)', '',
    ].join('\n'));
    assertNoSecret(dry.stdout + dry.stderr, 'the dry run');
    const still = await cluster.tsctl(['diff', '-f', path.join(dir, 'web.yaml')]);
    assert.deepEqual([still.code, still.stdout], [0, ''], 'the dry run wrote nothing');
  });

  it('keeps the Secret\'s value out of etcd, the logs and a view role\'s get -o yaml', async () => {
    const etcd = cluster.etcdctl(['get', '', '--prefix']);
    assert.ok(etcd.includes('/tide/v1/secrets/default/web-secret'), 'etcdctl reads the store');
    assertNoSecret(etcd, "etcd's raw data");
    assert.deepEqual(cluster.logLines(new RegExp([...secretForms(SECRET), ...secretForms(EDITED_SECRET)].map(escape).join('|'))), []);
    const view = await cluster.token('view');
    const shown = await cluster.tsctl(['--token', view, 'get', 'secret', 'web-secret', '-o', 'yaml']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /token: <redacted>/);
    assertNoSecret(shown.stdout, "a view role's get -o yaml");
    const viewDiff = await cluster.tsctl(['--token', view, 'diff', '-f', path.join(dir, 'edited.yaml')]);
    assert.equal(viewDiff.code, 1, viewDiff.stderr);
    assertNoSecret(viewDiff.stdout, "a view role's diff");
  });

  it('refuses a file with fields Tide cannot honour, listing their paths, and applies nothing of it', async () => {
    const refused = await cluster.tsctl(['apply', '-f', write('refused.yaml', UNHONOURABLE)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused\.yaml: document 2: spec\.strategy\.type: .*Recreate/);
    assert.match(refused.stderr, /refused\.yaml: document 3: spec\.metrics\[0\]\.resource\.name: .*memory/);
    assert.match(refused.stderr, /error: nothing was applied/);
    assert.equal((await cluster.fetch('/api/v1/configmaps/refused-config?namespace=default')).status, 404, 'the ConfigMap of the refused file is not applied');
    assert.equal((await cluster.fetch('/api/v1/configmaps/web-config?namespace=default')).status, 200, 'the same route finds an applied one');
    assert.equal((await cluster.services()).find((s) => s.metadata.name === 'refused'), undefined);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
