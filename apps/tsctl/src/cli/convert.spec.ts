/** tsctl convert and tsctl apply of Kubernetes manifests, as a user runs them, against a stand-in API. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FieldError, validateApplied } from '@tide/api';
import { tsctl, useStandInApi } from '../testing/run.tsctl';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: { team: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: web:1
          imagePullPolicy: Always
          ports: [{ containerPort: 8080 }]
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }]
`;
const CONFIG = `apiVersion: v1
kind: ConfigMap
metadata: { name: web }
data: { MODE: fast }
`;
/** A mount of the ConfigMap, with a mode in YAML 1.1 octal as Kubernetes reads it. */
const WITH_VOLUME = DEPLOYMENT.replace('          ports:', `          volumeMounts: [{ name: conf, mountPath: /etc/web }]
          ports:`) + `      volumes:
        - name: conf
          configMap: { name: web, defaultMode: 0440 }
`;

/** Answers as the control plane does today: validateApplied of @tide/api on every document. */
function standInApi(received: unknown[][]): http.Server {
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET') return res.end('{"items":[]}'); // apply reads the stored versions first
      if (req.method === 'DELETE') {
        received.push([`DELETE ${req.url}`]);
        return res.end('{}');
      }
      const { documents } = JSON.parse(body) as { documents: { kind: string; metadata: { name: string } }[] };
      received.push(documents);
      const details: FieldError[] = documents.flatMap((doc, i) => {
        const result = validateApplied(doc, i);
        return result.ok ? [] : result.errors;
      });
      if (details.length) {
        res.statusCode = 400;
        return res.end(JSON.stringify({ error: 'invalid manifests', details }));
      }
      res.end(JSON.stringify({ results: documents.map((d) => ({ kind: d.kind, namespace: 'default', name: d.metadata.name, action: 'created' })) }));
    });
  });
}

describe('tsctl convert and apply of Kubernetes manifests', () => {
  const received: unknown[][] = [];
  const server = standInApi(received);
  const api = useStandInApi(server, 'tsctl-kube-');
  const dir = api.dir;
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };


  it('convert prints the Tide objects as YAML documents and the warnings on stderr', async () => {
    const file = write('web.yaml', `${CONFIG}---\n${WITH_VOLUME}---\n${SERVICE}`);
    const run = await tsctl(['convert', '-f', file]);
    assert.equal(run.code, 0, run.stderr);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJS());
    assert.deepEqual(objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`), ['tide/v1 ConfigMap/web', 'tide/v1 Service/web']);
    assert.deepEqual(objects[1].spec.ports, [{ containerPort: 8080, port: 80, publish: 30080 }]);
    assert.equal(objects[1].spec.volumes[0].configMap.defaultMode, 0o440, '0440 is octal in a Kubernetes manifest');
    assert.deepEqual(run.stderr.trim().split('\n'), [
      `${file}: document 2: metadata.annotations: warning: ignored: Tide keeps no annotations`,
      `${file}: document 2: spec.template.spec.containers[0].imagePullPolicy: warning: ignored: each node runs the image from its own store (tsctl image import or build): nothing is pulled`,
    ]);
  });

  it('convert lists every refused field with its document and path, prints nothing and exits 1', async () => {
    const file = write('refused.yaml', `${DEPLOYMENT.replace('          ports:', '          args: [--fast]\n          ports:')}---\n${SERVICE.replace('app: web', 'app: api')}`);
    const run = await tsctl(['convert', '-f', file]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^.*document 1: metadata.annotations: warning: ignored: Tide keeps no annotations\n/, 'warnings come first, refusal or not');
    const errors = run.stderr.trim().split('\n').filter((line) => !line.includes(': warning: '));
    assert.deepEqual(errors, [
      `${file}: document 1: spec.template.spec.containers[0].args: args without command: Kubernetes runs the image's ENTRYPOINT with them, Tide runs them as the whole command line; give command (the ENTRYPOINT) too`,
      `${file}: document 2: spec.selector: app=api matches no Deployment's pod labels in namespace "default" of this file: the service would have no endpoints`,
      'error: nothing was converted (2 problems)',
    ]);
  });

  it('apply converts first and sends the tide/v1 objects', async () => {
    received.length = 0;
    const run = await tsctl(['--server', api.url(), 'apply', '-f', write('apply.yaml', `${DEPLOYMENT}---\n${SERVICE}`)]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'service/web created\n');
    assert.match(run.stderr, /document 1: metadata.annotations: warning: ignored/);
    assert.deepEqual(received, [[{
      apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web' },
      spec: { replicas: 2, image: 'web:1', ports: [{ containerPort: 8080, port: 80, publish: 30080 }] },
    }]]);
  });

  it('delete -f of the same file deletes the Tide services and ConfigMaps it made', async () => {
    received.length = 0;
    const run = await tsctl(['--server', api.url(), 'delete', '-f', write('delete.yaml', `${CONFIG}---\n${DEPLOYMENT}---\n${SERVICE.replace('name: web }', 'name: web-svc }')}`)]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'configmap/web deleted\nservice/web deleted\n');
    assert.deepEqual(received, [['DELETE /api/v1/configmaps/web?namespace=default'], ['DELETE /api/v1/services/web?namespace=default']]);
  });

  it('apply sends nothing when the conversion refuses a field', async () => {
    received.length = 0;
    const run = await tsctl(['--server', api.url(), 'apply', '-f', write('nothing.yaml', DEPLOYMENT.replace('replicas: 2', 'replicas: 2\n  paused: true'))]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /document 1: spec.paused: a Tide rollout cannot be paused\nerror: nothing was applied \(1 problem\)\n$/);
    assert.deepEqual(received, [], 'no request reached the API');
  });

  it("shows the control plane's refusals at the Kubernetes document and field they came from", async () => {
    const file = write('unwired.yaml', `${CONFIG}---\n${WITH_VOLUME.replace('          ports:', '          securityContext: { privileged: true }\n          ports:')}`);
    const run = await tsctl(['--server', api.url(), 'apply', '-f', file]);
    assert.equal(run.code, 1);
    assert.deepEqual(run.stderr.trim().split('\n').filter((line) => !line.includes(': warning: ')), [
      `${file}: document 2: spec.template.spec.containers[0].securityContext.privileged: valid, but the node agents do not run it yet`,
      'error: nothing was applied (1 problem)',
    ]);
  });

  it('applies a ConfigMap with a Deployment that mounts it', async () => {
    received.length = 0;
    const run = await tsctl(['--server', api.url(), 'apply', '-f', write('mounted.yaml', `${CONFIG}---\n${WITH_VOLUME}`)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /configmap\/web created\nservice\/web created/);
  });
});
