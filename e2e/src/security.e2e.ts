/**
 * Issue 14 acceptance, the API half, on a `tsctl up` cluster: HTTPS only, every route needs a token or
 * a client certificate (401), roles are enforced (403: view cannot apply, delete, scale or exec; edit
 * stays in its namespace), the Host header must be one of the server's names, a revoked token stops
 * working at once, the audit log records mutating calls, and the credential files are private.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { TestCluster, waitFor } from './harness';

const BASE = 20270;

/** Every route of the API but /healthz (docs/ARCHITECTURE.md, HTTP API), with a made-up name where one is needed. */
const ROUTES: Array<[string, string]> = [
  ['POST', '/api/v1/apply'], ['GET', '/api/v1/services'], ['GET', '/api/v1/services/x'], ['DELETE', '/api/v1/services/x'],
  ['PUT', '/api/v1/services/x/scale'], ['GET', '/api/v1/services/x/revisions'], ['POST', '/api/v1/services/x/rollback'],
  ['GET', '/api/v1/replicas'], ['GET', '/api/v1/replicas/x'], ['GET', '/api/v1/replicas/x/logs'], ['GET', '/api/v1/replicas/x/exec'],
  ['GET', '/api/v1/nodes'], ['GET', '/api/v1/nodes/x'], ['POST', '/api/v1/nodes/x/cordon'], ['POST', '/api/v1/nodes/x/uncordon'],
  ['POST', '/api/v1/nodes/x/drain'], ['GET', '/api/v1/nodes/x/drain'], ['DELETE', '/api/v1/nodes/x/drain'],
  ['POST', '/api/v1/images/import'], ['GET', '/api/v1/images'], ['DELETE', '/api/v1/images/x:1'], ['POST', '/api/v1/images/build?tag=x:1'],
  ['GET', '/api/v1/events'], ['GET', '/api/v1/discovery/prometheus'], ['GET', '/api/v1/usage/nodes'], ['GET', '/api/v1/usage/replicas'],
  ['GET', '/metrics'], ['GET', '/api/v1/whoami'], ['POST', '/api/v1/tokens'], ['GET', '/api/v1/tokens'], ['DELETE', '/api/v1/tokens/x'],
  ['DELETE', '/api/v1/nodes/x'], ['POST', '/api/v1/join'], ['GET', '/api/v1/registry'], ['POST', '/api/v1/images/pull'], ['POST', '/api/v1/images/push'],
  ['GET', '/v2/token?service=tide-registry&scope=repository:x:pull'],
];

const service = (namespace: string) => `apiVersion: tide/v1
kind: Service
metadata: { name: quiet, namespace: ${namespace} }
spec:
  replicas: 0
  image: busybox
  command: ["sleep", "3600"]
`;

describe('a secure API', { timeout: 240_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, basePort: BASE, podCidr: '100.64.124.0/22' });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('keeps the credentials private: the config and every key 0600, the server address https', () => {
    assert.equal(fs.statSync(cluster.configFile).mode & 0o777, 0o600);
    const config = JSON.parse(fs.readFileSync(cluster.configFile, 'utf8')) as Record<string, string>;
    assert.equal(config.server, `https://127.0.0.1:${BASE}`);
    assert.match(config.ca, /^-----BEGIN CERTIFICATE-----/);
    assert.match(config.token, /^tide_[0-9a-f]{12}_/);
    const pki = path.join(cluster.stateDir, 'pki');
    for (const key of ['ca.key', 'control-plane.key', 'control-plane-client.key']) assert.equal(fs.statSync(path.join(pki, key)).mode & 0o777, 0o600, key);
    assert.doesNotMatch(fs.readFileSync(path.join(cluster.stateDir, 'control-plane.log'), 'utf8'), /PRIVATE KEY|tide_[0-9a-f]{12}_/);
  });

  it('answers 401 to every route without credentials, /healthz alone is open', async () => {
    for (const [method, route] of ROUTES) {
      const response = await cluster.fetch(route, { method, token: null });
      assert.equal(response.status, 401, `${method} ${route}`);
      assert.match(((await response.json()) as { error: string }).error, /^no credentials/);
    }
    assert.equal((await cluster.fetch('/healthz', { token: null })).status, 200);
    const tsctl = await cluster.tsctl(['--token', '', 'get', 'nodes']);
    assert.equal(tsctl.code, 1);
  });

  it('refuses plain HTTP on the API port: no answer in clear', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(BASE, '127.0.0.1', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${BASE}\r\n\r\n`));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
    assert.doesNotMatch(reply, /HTTP\/1\.[01] \d{3}/);
    const viaTsctl = await cluster.tsctl(['--server', `http://127.0.0.1:${BASE}`, 'get', 'nodes']);
    assert.equal(viaTsctl.code, 1);
    assert.match(viaTsctl.stderr, /^error: .*http:\/\/127\.0\.0\.1:\d+/m);
  });

  it('refuses a Host header that is not one of its names (DNS rebinding)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = https.request({
        host: '127.0.0.1', port: BASE, path: '/api/v1/nodes', ca: cluster.caPem, servername: 'localhost',
        headers: { host: 'rebound.example', authorization: `Bearer ${cluster.adminToken}` },
      }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
    });
    assert.equal(status, 421);
  });

  it('lets a view token read, and answers 403 to its apply, delete, scale and exec', async () => {
    const view = await cluster.token('view');
    assert.equal((await cluster.tsctl(['--token', view, 'get', 'services'])).code, 0);
    const refused: string[][] = [
      ['apply', '-f', '-'], ['delete', 'service', 'quiet'], ['scale', 'service', 'quiet', '--replicas', '1'], ['exec', 'quiet-x', '--', 'true'],
    ];
    for (const args of refused) {
      const run = await cluster.tsctl(['--token', view, ...args], args[0] === 'apply' ? { input: service('default') } : {});
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, /role view may not \w+ [\w/]+: it is read-only/, args.join(' '));
    }
    assert.equal((await cluster.services()).length, 0, 'nothing was applied');
  });

  it('keeps an edit token to its namespace', async () => {
    const edit = await cluster.token('edit', 'team-a');
    const own = await cluster.tsctl(['--token', edit, 'apply', '-f', '-'], { input: service('team-a') });
    assert.equal(own.code, 0, own.stderr);
    const other = await cluster.tsctl(['--token', edit, 'apply', '-f', '-'], { input: service('team-b') });
    assert.equal(other.code, 1);
    assert.match(other.stderr, /is limited to namespace "team-a", not "team-b"/);
    const list = await cluster.tsctl(['--token', edit, 'get', 'services', '-n', 'team-b']);
    assert.equal(list.code, 1);
    assert.deepEqual((await cluster.services()).map((s) => s.metadata.namespace), ['team-a']);
  });

  it('prints a new token alone on the last line, lists it without its secret, and a revoked token is refused next call', async () => {
    const made = await cluster.tsctl(['token', 'create', '--role', 'view', '--ttl', '1h']);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trimEnd().split('\n').at(-1)!;
    assert.match(token, /^tide_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const id = token.split('_')[1];
    const listed = await cluster.tsctl(['token', 'ls']);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+user\\s+view\\s+\\*\\s+\\d{4}-`, 'm'));
    assert.ok(!listed.stdout.includes(token.slice(19)), 'no secret in the list');
    assert.equal((await cluster.tsctl(['--token', token, 'get', 'nodes'])).code, 0);
    assert.equal((await cluster.tsctl(['token', 'revoke', id])).code, 0);
    const after = await cluster.tsctl(['--token', token, 'get', 'nodes']);
    assert.equal(after.code, 1);
    assert.match(after.stderr, new RegExp(`unknown or revoked token ${id}`));
    const bad = await cluster.tsctl(['token', 'create', '--role', 'root']);
    assert.deepEqual([bad.code, bad.stderr.trim()], [2, 'error: --role: "root" is not a role (admin, edit or view)']);
  });

  it('records the mutating calls in STATE/audit.log (0600): who, what, when, result', async () => {
    const file = path.join(cluster.stateDir, 'audit.log');
    type Line = { time: string; user: string; verb: string; resource: string; namespace?: string; name?: string; result: string; status: number };
    const lines = await waitFor('the audit lines of the calls above', async () => {
      const parsed = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Line);
      return parsed.some((l) => l.resource === 'tokens' && l.verb === 'delete') ? parsed : undefined;
    }, 10_000);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(lines.some((l) => l.verb === 'update' && l.resource === 'services' && l.namespace === 'team-a' && l.result === 'succeeded'));
    assert.ok(lines.some((l) => l.verb === 'update' && l.namespace === 'team-b' && l.result === 'forbidden' && l.status === 403));
    assert.ok(lines.some((l) => l.resource === 'replicas/exec' && l.result === 'forbidden'));
    assert.ok(lines.some((l) => l.resource === 'services/scale' && l.result === 'forbidden'));
    assert.ok(lines.some((l) => l.user === 'system:tide-control-plane' && l.resource === 'tokens' && l.verb === 'create'), 'tsctl up made the admin token as the control plane');
    assert.ok(lines.some((l) => /^join:[0-9a-f]{12}$/.test(l.user) && l.resource === 'certificatesigningrequests' && l.result === 'succeeded'), 'the nodes joined with a join token');
    assert.ok(lines.every((l) => !Number.isNaN(Date.parse(l.time)) && /^(token:[0-9a-f]{12}|join:[0-9a-f]{12}|system:tide-control-plane|anonymous)$/.test(l.user)));
  });
});
