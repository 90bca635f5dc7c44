/** tsctl as a user runs it: the built CLI against a stand-in API, checking output, errors and exit codes. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { tsctl, useStandInApi } from '../testing/run.tsctl';

/** What each apply sent: `force`, and each document's resourceVersion. */
const applied: { force?: boolean; versions: (string | undefined)[] }[] = [];

/**
 * Answers like the control plane: apply refuses a service named "bad" with a detail on spec.replicas,
 * and "contended" with 409 for its first two writes (another writer each time) or a stale version 5.
 */
function standInApi(): http.Server {
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/api/v1/services?namespace=default') { // the applied documents' namespace only
        return res.end(JSON.stringify({ items: [{ metadata: { namespace: 'default', name: 'contended', resourceVersion: String(7 + applied.length) } }] }));
      }
      if (req.method === 'POST' && req.url === '/api/v1/apply') {
        const parsed = JSON.parse(body) as { force?: boolean; documents: { kind: string; metadata: { name: string; resourceVersion?: string } }[] };
        const { documents } = parsed;
        applied.push({ force: parsed.force, versions: documents.map((d) => d.metadata.resourceVersion) });
        // "contended" is written by someone else between each read and write, twice.
        const contended = documents.find((d) => d.metadata.name === 'contended');
        if (contended?.metadata.resourceVersion && !parsed.force && (contended.metadata.resourceVersion === '5' || applied.length <= 2)) {
          res.statusCode = 409;
          return res.end(JSON.stringify({ error: `service default/contended changed since it was read: resourceVersion ${contended.metadata.resourceVersion} is stale`, details: [] }));
        }
        const bad = documents.findIndex((d) => d.metadata.name === 'bad');
        if (bad >= 0) {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: 'invalid manifests', details: [
            { document: bad, path: 'spec.replicas', message: 'must be an integer ≥ 0' },
            { document: bad, path: 'spec.image', message: 'is required' },
          ] }));
        }
        return res.end(JSON.stringify({ results: documents.map((d, i) => ({ kind: d.kind, namespace: 'default', name: d.metadata.name, action: i === 0 ? 'created' : 'unchanged' })) }));
      }
      if (req.url?.startsWith('/api/v1/services/nope')) {
        res.statusCode = 404;
        return res.end(JSON.stringify({ error: 'service default/nope not found' }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'not found' }));
    });
  });
}

const doc = (name: string) => `apiVersion: tide/v1\nkind: Service\nmetadata: { name: ${name} }\nspec: { replicas: 1, image: busybox }\n`;

describe('tsctl command line', () => {
  const server = standInApi();
  const api = useStandInApi(server, 'tsctl-manifests-');
  const dir = api.dir;


  it('applies every document and prints one line per object', async () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, `${doc('hello')}---\n${doc('web')}`);
    const run = await tsctl(['--server', api.url(), 'apply', '-f', file]);
    assert.deepEqual(run, { code: 0, stdout: 'service/hello created\nservice/web unchanged\n', stderr: '' });
  });

  it('reads stdin with -f -', async () => {
    const run = await tsctl(['apply', '-f', '-', '--server', api.url()], doc('hello'));
    assert.equal(run.stdout, 'service/hello created\n');
  });

  it('prints every detail of a refused apply as FILE: document N: PATH: MESSAGE and exits 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, `${doc('fine')}---\n---\n${doc('bad')}`);
    const run = await tsctl(['--server', api.url(), 'apply', '-f', file]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, [
      `${file}: document 3: spec.replicas: must be an integer ≥ 0`,
      `${file}: document 3: spec.image: is required`,
      'error: nothing was applied (2 problems)',
      '',
    ].join('\n'));
  });

  it('names the file and document of invalid YAML, without a stack trace', async () => {
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, `${doc('fine')}---\nmetadata: { name: [oops\n`);
    const run = await tsctl(['--server', api.url(), 'apply', '-f', file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^error: ${file.replace(/[.]/g, '\\.')}: document 2: invalid YAML`));
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  });

  it('says which server it could not reach and suggests tsctl up', async () => {
    const run = await tsctl(['--server', 'http://127.0.0.1:9', 'get', 'services']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: cannot (connect to|reach) the Tide API at http:\/\/127\.0\.0\.1:9 .*tsctl up/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('turns a 404 into a sentence', async () => {
    const run = await tsctl(['--server', api.url(), 'scale', 'service', 'nope', '--replicas', '2']);
    assert.deepEqual({ code: run.code, stderr: run.stderr }, { code: 1, stderr: 'error: service "nope" not found in namespace default\n' });
  });

  it('exits 2 with the usage for unknown commands and options', async () => {
    const unknown = await tsctl(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command "frobnicate"\nusage: tsctl/);
    const option = await tsctl(['get', 'services', '--colour']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option --colour for "get"/);
  });

  it('apply sends the resourceVersion it read and, on 409, reads again and resends', async () => {
    applied.length = 0;
    const run = await tsctl(['apply', '-f', '-', '--server', api.url()], doc('contended'));
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'service/contended created\n');
    assert.match(run.stderr, /contended changed since it was read: resourceVersion 7 is stale: reading again \(attempt 2 of 5\)/);
    // Versions read before each write: 7, then 8 and 9 after each refused write.
    assert.deepEqual(applied.map((a) => a.versions), [['7'], ['8'], ['9']]);
  });

  it('apply of a document carrying its own resourceVersion sends it as is and does not retry its 409', async () => {
    applied.length = 0;
    const stale = 'apiVersion: tide/v1\nkind: Service\nmetadata: { name: contended, resourceVersion: "5" }\nspec: { replicas: 1, image: busybox }\n';
    const run = await tsctl(['apply', '-f', '-', '--server', api.url()], stale);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /resourceVersion 5 is stale/);
    assert.deepEqual(applied, [{ force: undefined, versions: ['5'] }]);
    const forced = await tsctl(['apply', '-f', '-', '--force', '--server', api.url()], stale);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(applied[1], { force: true, versions: [undefined] });
  });
});
