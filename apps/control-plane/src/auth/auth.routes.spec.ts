/** Every API route behind the guard: 401 without credentials, 403 without the role, the Host check, tokens, limits and the audit log. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { API_CONTROLLERS } from '../app.module';
import { ApiHarness, startApiHarness } from '../testing/api.harness';
import { ACCESS } from './access.decorator';

interface Route { method: string; path: string; handler: object }

/** Every route the controllers declare, as Nest reads them, with `:params` filled in. */
function routes(): Route[] {
  const found: Route[] = [];
  for (const controller of API_CONTROLLERS) {
    const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const key of Object.getOwnPropertyNames(controller.prototype).filter((name) => name !== 'constructor')) {
      const handler = Object.getOwnPropertyDescriptor(controller.prototype, key)?.value as unknown;
      if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
      const path = `/${[prefix, String(Reflect.getMetadata(PATH_METADATA, handler))].filter((p) => p && p !== '/').join('/')}`.replace(/:\w+/g, 'x');
      found.push({ method, path, handler });
    }
  }
  return found;
}

const service = (namespace: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'tide/v1', kind: 'Service', metadata: { name: 'web', namespace }, spec: { replicas: 1, image: 'busybox', ...extra },
});

describe('API authentication and authorization', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const apply = (token: string | null, ...documents: unknown[]) => api.fetch('/api/v1/apply', { ...json({ documents }), token });
  const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;

  before(async () => (api = await startApiHarness()));
  after(async () => api?.close());

  it('has an access rule on every route (deny by default), and only /healthz, /readyz (liveness and readiness, for supervisors and balancers), the registry token service and the dashboard\'s files are public', () => {
    const all = routes();
    assert.ok(all.length >= 30, `found ${all.length} routes`);
    for (const route of all) assert.ok(Reflect.getMetadata(ACCESS, route.handler), `${route.method} ${route.path} has no @Access or @Public`);
    // /v2/token authenticates by itself (registry clients send Basic auth): registry.routes.spec.ts.
    // /ui/ is the dashboard's static bundle, which holds no data (ui/dashboard.routes.spec.ts).
    assert.deepEqual(all.filter((r) => Reflect.getMetadata(ACCESS, r.handler).kind === 'public').map((r) => r.path).sort(), ['/healthz', '/readyz', '/ui', '/ui/*path', '/v2/token']);
  });

  it('answers 401 as a JSON error to every other route without credentials', async () => {
    for (const route of routes().filter((r) => Reflect.getMetadata(ACCESS, r.handler).kind !== 'public')) {
      const response = await api.fetch(route.path, { method: route.method, token: null });
      assert.equal(response.status, 401, `${route.method} ${route.path}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="tide"');
      assert.match(await errorOf(response), /^no credentials: send "Authorization: Bearer <token>" or a client certificate$/);
    }
    assert.equal((await api.fetch('/healthz', { token: null })).status, 200);
    const forged = await api.fetch('/api/v1/nodes', { token: 'tide_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    assert.deepEqual([forged.status, await errorOf(forged)], [401, 'unknown or revoked token 000000000000']);
  });

  it('tells any valid credential who it is (whoami, as the agents check tokens), and nothing to a bad one', async () => {
    const view = await api.token('view', 'shop');
    const answer = await api.fetch('/api/v1/whoami', { token: view });
    assert.equal(answer.status, 200);
    const { subject, name } = (await answer.json()) as { subject: { kind: string; role: string; namespace: string; name: string }; name: string };
    assert.deepEqual([subject.kind, subject.role, subject.namespace, name], ['user', 'view', 'shop', subject.name]);
    assert.match(name, /^token:[0-9a-f]{12}$/);
    const system = await api.fetch('/api/v1/whoami', { token: null, client: api.clientCertificate });
    assert.deepEqual(await system.json(), { subject: { kind: 'control-plane' }, name: 'system:tide-control-plane' });
    const forged = await api.fetch('/api/v1/whoami', { token: 'tide_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(forged.status, 401);
  });

  it('lets a view token read but not apply, delete, scale or exec (403 naming the role)', async () => {
    const view = await api.token('view');
    assert.equal((await api.fetch('/api/v1/services', { token: view })).status, 200);
    assert.equal((await api.fetch('/metrics', { token: view })).status, 200);
    const refused: Array<[string, RequestInit]> = [
      ['/api/v1/apply', json({ documents: [service('default')] })],
      ['/api/v1/services/web', { method: 'DELETE' }],
      ['/api/v1/services/web/scale', { ...json({ replicas: 2 }), method: 'PUT' }],
      ['/api/v1/replicas/web-1/exec?command=sh', {}],
      ['/api/v1/tokens', {}],
    ];
    for (const [path, init] of refused) {
      const response = await api.fetch(path, { ...init, token: view });
      assert.equal(response.status, 403, path);
      assert.match(await errorOf(response), /^role view may not \w+ [\w/]+: it is read-only$/);
    }
  });

  it('keeps an edit token to its namespace and off admin-only fields, and writes nothing refused', async () => {
    const edit = await api.token('edit', 'team-a');
    const own = await apply(edit, service('team-a'));
    assert.equal(own.status, 200, await own.clone().text());
    const other = await apply(edit, service('team-b'));
    assert.deepEqual([other.status, await errorOf(other)], [403, `token:${edit.split('_')[1]} is limited to namespace "team-a", not "team-b"`]);
    assert.equal((await api.fetch('/api/v1/services?namespace=team-b', { token: edit })).status, 403);
    assert.equal((await api.fetch('/api/v1/services?namespace=all', { token: edit })).status, 403);
    const host = await apply(edit, service('team-a', { network: 'host' }));
    assert.deepEqual([host.status, await errorOf(host)], [403, 'spec.network: host: needs the admin role']);
    assert.equal((await api.fetch('/api/v1/nodes/x/cordon', { method: 'POST', token: edit })).status, 403);
    assert.equal(await api.store.get('Service', 'team-b', 'web'), undefined, 'nothing written in team-b');
  });

  it('creates, lists and revokes tokens (admin only); a revoked token is a 401 on its next call', async () => {
    const created = await api.fetch('/api/v1/tokens', json({ role: 'view', namespace: 'team-a', ttl: '24h' }));
    assert.equal(created.status, 201);
    const { token, record } = (await created.json()) as { token: string; record: Record<string, unknown> };
    assert.match(token, /^tide_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(record.secretHash, undefined);
    assert.equal((await api.fetch('/api/v1/services?namespace=team-a', { token })).status, 200);
    const listed = (await (await api.fetch('/api/v1/tokens')).json()) as { items: Array<Record<string, unknown>> };
    const mine = listed.items.find((item) => item.id === record.id);
    assert.deepEqual([mine?.role, mine?.namespace, typeof mine?.expiresAt, 'secretHash' in (mine ?? {})], ['view', 'team-a', 'string', false]);
    const bad = await api.fetch('/api/v1/tokens', json({ role: 'root', ttl: '1y' }));
    assert.deepEqual([bad.status, await errorOf(bad)], [400, 'role: "root" is not a role (admin, edit or view)']);
    assert.equal((await api.fetch(`/api/v1/tokens/${String(record.id)}`, { method: 'DELETE' })).status, 200);
    const after = await api.fetch('/api/v1/services?namespace=team-a', { token });
    assert.deepEqual([after.status, await errorOf(after)], [401, `unknown or revoked token ${String(record.id)}`]);
    assert.equal((await api.fetch(`/api/v1/tokens/${String(record.id)}`, { method: 'DELETE' })).status, 404);
  });

  it("takes the control plane's client certificate as an admin-equivalent identity", async () => {
    const response = await api.fetch('/api/v1/tokens', { token: null, client: api.clientCertificate });
    assert.equal(response.status, 200);
  });

  it('refuses a Host that is not one of its names (421), /healthz included', async () => {
    // fetch() may not set Host: node:https may.
    const get = (path: string, host: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = https.request({ host: '127.0.0.1', port: api.port, path, ca: api.caPem, servername: 'localhost',
        headers: { host, authorization: `Bearer ${api.adminToken}` } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end();
    });
    for (const path of ['/healthz', '/api/v1/nodes']) {
      const response = await get(path, 'evil.example');
      assert.equal(response.status, 421, path);
      assert.match((JSON.parse(response.body) as { error: string }).error, /^Host "evil\.example" is not a name of this server \(localhost, 127\.0\.0\.1\)/);
    }
    assert.equal((await get('/healthz', `localhost:${api.port}`)).status, 200);
  });

  it('caps JSON bodies (413 naming the limit) and answers bad JSON with 400', async () => {
    const big = JSON.stringify({ documents: [{ padding: 'x'.repeat(5 * 1024 * 1024) }] });
    const tooBig = await api.fetch('/api/v1/apply', { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    assert.deepEqual([tooBig.status, await errorOf(tooBig)], [413, "request body larger than 4 MiB, the API's limit for JSON"]);
    const garbled = await api.fetch('/api/v1/apply', { method: 'POST', body: '{"documents": [', headers: { 'content-type': 'application/json' } });
    assert.equal(garbled.status, 400);
    assert.match(await errorOf(garbled), /^request body is not valid JSON/);
  });

  it('cuts off a client that trickles its request head, however often a byte comes (a deadline, not an idle timer)', { timeout: 90_000 }, async () => {
    const socket = await api.connect();
    const closed = new Promise<string>((resolve) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    // A byte every 200 ms would reset any idle timer forever; the head deadline still ends it.
    const trickle = setInterval(() => socket.writable && socket.write('a'), 200);
    try {
      const answer = await closed; // the test's timeout is the failure when the server never cuts it off
      assert.doesNotMatch(answer, /^HTTP\/1\.1 200/, 'the request was never served');
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('answers no plaintext to plain HTTP on its port', async () => {
    const reply = await new Promise<string>((resolve) => {
      const socket = net.connect(api.port, '127.0.0.1', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\n\r\n`));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', () => undefined);
    });
    assert.doesNotMatch(reply, /HTTP\/1\.1|healthz|ok/, 'no HTTP answer came back in clear');
  });

  it('audits mutating requests, refused ones included, in a 0600 file (reads are not audited)', async () => {
    const view = await api.token('view');
    await apply(api.adminToken, service('default'));
    await api.fetch('/api/v1/services/web', { method: 'DELETE', token: view });
    await api.fetch('/api/v1/services', { token: view });
    const lines = fs.readFileSync(api.auditLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const admin = `token:${api.adminToken.split('_')[1]}`;
    assert.ok(lines.some((l) => l.user === admin && l.verb === 'update' && l.resource === 'services' && l.namespace === 'default'
      && l.name === 'web' && l.result === 'succeeded' && l.status === 200 && l.source === '127.0.0.1'));
    assert.ok(lines.some((l) => l.user === `token:${view.split('_')[1]}` && l.verb === 'delete' && l.result === 'forbidden' && l.status === 403));
    assert.ok(lines.every((l) => l.verb !== 'list' && l.verb !== 'get'), 'reads are not audited');
    assert.ok(lines.every((l) => typeof l.time === 'string'));
    assert.equal(fs.statSync(api.auditLog).mode & 0o777, 0o600);
    assert.doesNotMatch(fs.readFileSync(api.auditLog, 'utf8'), /tide_[0-9a-f]{12}_/, 'no token in the log');
  });
});
