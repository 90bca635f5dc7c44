/** The Docker API's translation and framing, and its server's answers where no cluster is needed. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Replica, Service } from '@tide/api';
import { ApiClient } from '../api/api.client';
import { TideContainers } from './docker.backend';
import { ContainerVerbs, signalName } from './docker.containers';
import { attachPath } from './docker.attach';
import { DockerError } from './docker.errors';
import { psEntry } from './docker.entries';
import { Container, containerId, containerName, containerState, exitCode, humanDuration, serviceFromCreate, statusText } from './docker.model';
import { parseFilters, passes } from './docker.filters';
import { imageEntries } from './docker.images';
import { lastLines } from './docker.output';
import { DockerApi } from './docker.server';
import { demultiplex, frames } from './docker.stream';
import { SystemInfo, apiVersionOf } from './docker.system';
import { runBody } from './run.command';
import { groupId } from './docker.command';
import { REPEATED_SEPARATOR, UsageError } from '../cli/args';

function rejects(fn: () => unknown, status: number, message: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof DockerError && error.status === status && message.test(error.message));
}

describe('containers as services', () => {
  it('derives a stable 64-hex id from the uid, different per uid', () => {
    assert.match(containerId('u-1'), /^[0-9a-f]{64}$/);
    assert.equal(containerId('u-1'), containerId('u-1'));
    assert.notEqual(containerId('u-1'), containerId('u-2'));
  });

  it('takes names with or without the slash, makes one when none, and refuses what Docker refuses', () => {
    assert.deepEqual(containerName('/web'), { docker: 'web', service: 'web' });
    assert.deepEqual(containerName(null, () => Buffer.from('abcdef0123', 'hex')), { docker: 'c-abcdef0123', service: 'c-abcdef0123' });
    rejects(() => containerName('-x'), 400, /Invalid container name \(-x\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);
  });

  it('gives a Docker name that is no Service name (compose\'s shop_web_1) a Service name of its own, kept apart by a hash', () => {
    const names = containerName('shop_web_1');
    assert.match(names.service, /^shop-web-1-[0-9a-f]{8}$/);
    assert.notEqual(containerName('shop.web.1').service, names.service);
    assert.ok(containerName('X'.repeat(80)).service.length <= 50);
    const service = serviceFromCreate(names, 'default', { Image: 'busybox' });
    assert.equal(service.metadata.labels?.['tide/docker-name'], 'shop_web_1');
    const entry = psEntry({ id: 'x', service: { ...service, metadata: { ...service.metadata, uid: 'u' } } }, 0);
    assert.deepEqual([entry.Names, entry.Labels], [['/shop_web_1'], {}]);
  });

  it('maps a docker run body onto a Service of 0 replicas that never restarts', () => {
    const service = serviceFromCreate({ docker: 'web', service: 'web' }, 'default', {
      Image: 'busybox', Cmd: ['httpd', '-f'], Env: ['A=1', 'B=x=y'], ExposedPorts: { '80/tcp': {}, '9000/tcp': {} },
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '23880' }] }, AutoRemove: true, Memory: 64 * 2 ** 20, NanoCpus: 5e8 },
      Labels: { team: 'a' },
    });
    assert.deepEqual(service.metadata, { name: 'web', namespace: 'default', labels: { team: 'a', 'tide/docker': 'container', 'tide/docker-auto-remove': 'true' } });
    assert.deepEqual(service.spec, {
      replicas: 0, image: 'busybox', args: ['httpd', '-f'], env: { A: '1', B: 'x=y' },
      resources: { limits: { memory: 64 * 2 ** 20, cpu: '500m' } },
      ports: [{ containerPort: 80, publish: 23880 }, { containerPort: 9000 }],
      restartPolicy: 'Never', terminationGracePeriodSeconds: 10,
    });
  });

  it('makes of tsctl run\'s flags the body docker run sends, and the same Service', () => {
    const options = new Map([['publish', `8080:80${REPEATED_SEPARATOR}9090:90/tcp`], ['env', 'A=1'], ['rm', 'true']]);
    const body = runBody('busybox', ['echo', 'hi'], options);
    assert.deepEqual(serviceFromCreate({ docker: 'x', service: 'x' }, 'default', body).spec.ports, [{ containerPort: 80, publish: 8080 }, { containerPort: 90, publish: 9090 }]);
    assert.deepEqual([body.Cmd, body.Env, body.HostConfig?.AutoRemove], [['echo', 'hi'], ['A=1'], true]);
    assert.throws(() => runBody('busybox', [], new Map([['publish', '80']])), (e: unknown) => e instanceof UsageError && /--publish: expected HOSTPORT:PORT/.test(e.message));
  });

  it('gives -i and -t to the Service as stdin and tty, and tsctl run -it sends them as docker run -it does', () => {
    const spec = serviceFromCreate({ docker: 'a', service: 'a' }, 'default', { Image: 'busybox', Tty: true, OpenStdin: true }).spec;
    assert.deepEqual([spec.stdin, spec.tty], [true, true]);
    assert.equal('tty' in serviceFromCreate({ docker: 'a', service: 'a' }, 'default', { Image: 'busybox' }).spec, false);
    const body = runBody('busybox', ['sh'], new Map([['interactive', 'true'], ['tty', 'true']]));
    assert.deepEqual([body.OpenStdin, body.Tty], [true, true]);
  });

  it('reads docker kill\'s signal in its every form', () => {
    assert.deepEqual(['HUP', 'sighup', 'SIGHUP', '1', '9', 'USR1'].map(signalName), ['SIGHUP', 'SIGHUP', 'SIGHUP', 'SIGHUP', 'SIGKILL', 'SIGUSR1']);
    rejects(() => signalName('NOPE'), 400, /Invalid signal: NOPE/);
    rejects(() => signalName('99'), 400, /Invalid signal: 99/);
  });

  it('opens the Tide attach session at the replica, with stdin and the replay only when asked', () => {
    assert.equal(attachPath('c-1-x', 'team a', true, true), '/api/v1/replicas/c-1-x/attach?namespace=team+a&stdin=1&replay=1');
    assert.equal(attachPath('c-1-x', 'default', false, false), '/api/v1/replicas/c-1-x/attach?namespace=default');
  });

  it('refuses what Tide cannot give yet with a 501 naming it', () => {
    rejects(() => serviceFromCreate({ docker: 'a', service: 'a' }, 'default', { Image: 'busybox', ExposedPorts: { '53/udp': {} } }), 501, /udp ports/);
    rejects(() => serviceFromCreate({ docker: 'a', service: 'a' }, 'default', { Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] } } }), 501, /-p HOSTPORT:80/);
    rejects(() => serviceFromCreate({ docker: 'a', service: 'a' }, 'default', {}), 400, /Config.Image: required/);
  });
});

const SERVICE: Service = {
  apiVersion: 'tide/v1', kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'u-1', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { replicas: 0, image: 'busybox', args: ['httpd', '-f'], ports: [{ containerPort: 80, publish: 23880 }] },
};

function replica(phase: Replica['status'] extends infer S ? S extends { phase: infer P } ? P : never : never, extra: Partial<NonNullable<Replica['status']>> = {}): Replica {
  return {
    apiVersion: 'tide/v1', kind: 'Replica', metadata: { name: 'web-abcde', namespace: 'default' },
    spec: { service: 'web', templateHash: 'h', nodeName: 'node-1' } as Replica['spec'],
    status: { phase, ready: phase === 'Running', restartCount: 0, ...extra },
  };
}

describe('container state', () => {
  const at = (r?: Replica, generation = 1): Container => ({ id: 'x', service: { ...SERVICE, metadata: { ...SERVICE.metadata, generation } }, replica: r });

  it('is created before the first start, exited after a stop took the replica away', () => {
    assert.equal(containerState(at()).Status, 'created');
    assert.equal(containerState(at(undefined, 3)).Status, 'exited');
    const stopped = at(undefined, 3);
    stopped.service.metadata.labels = { 'tide/docker-stopped': '137 2026-01-01T00:01:00Z' };
    assert.deepEqual([containerState(stopped).ExitCode, containerState(stopped).FinishedAt], [137, '2026-01-01T00:01:00Z'], 'the exit docker stop kept');
    assert.equal(containerState(at(replica('Pending'), 2)).Status, 'created');
  });

  it('is running with the pid, and exited with the code or 128+signal', () => {
    const running = containerState(at(replica('Running', { pid: 42, startedAt: '2026-01-01T00:00:00Z' }), 2));
    assert.deepEqual([running.Status, running.Running, running.Pid], ['running', true, 42]);
    const done = containerState(at(replica('Failed', { lastExit: { code: null, signal: 'SIGKILL', reason: 'OOMKilled', finishedAt: '2026-01-01T00:01:00Z' } }), 2));
    assert.deepEqual([done.Status, done.ExitCode, done.OOMKilled, done.FinishedAt], ['exited', 137, true, '2026-01-01T00:01:00Z']);
    assert.equal(exitCode(3, null), 3);
  });

  it('is paused and still Running when its replica is Paused, as dockerd shows it: "Up 5 seconds (Paused)"', () => {
    const paused = at(replica('Paused', { pid: 42, startedAt: '2026-01-01T00:02:00Z' }), 2);
    const state = containerState(paused);
    assert.deepEqual([state.Status, state.Running, state.Paused, state.Pid], ['paused', true, true, 42]);
    const entry = psEntry(paused, Date.parse('2026-01-01T00:02:05Z'));
    assert.deepEqual([entry.State, entry.Status], ['paused', 'Up 5 seconds (Paused)']);
    assert.equal(containerState(at(replica('Running'), 2)).Paused, false);
  });

  it('reads as docker ps does: "Up 5 seconds", "Exited (0) 2 minutes ago", published ports', () => {
    const now = Date.parse('2026-01-01T00:02:05Z');
    const entry = psEntry(at(replica('Running', { startedAt: '2026-01-01T00:02:00Z' }), 2), now);
    assert.deepEqual([entry.Names, entry.Command, entry.State, entry.Status, entry.Ports], [['/web'], 'httpd -f', 'running', 'Up 5 seconds', [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 23880, Type: 'tcp' }]]);
    const exited = containerState(at(replica('Succeeded', { lastExit: { code: 0, signal: null, reason: 'Completed', finishedAt: '2026-01-01T00:00:05Z' } }), 2));
    assert.equal(statusText(exited, now), 'Exited (0) 2 minutes ago');
    assert.deepEqual([humanDuration(500), humanDuration(61_000), humanDuration(3 * 3_600_000)], ['Less than a second', 'About a minute', '3 hours']);
  });
});

describe('docker ps filters', () => {
  const entry = { Id: 'abc123', Names: ['/web-1'], Labels: { 'com.docker.compose.project': 'shop', tier: 'front' }, State: 'running' };

  it('matches labels (all of them), names by substring, ids by prefix, states', () => {
    assert.ok(passes(entry, parseFilters('{"label":["com.docker.compose.project=shop","tier"]}')));
    assert.ok(!passes(entry, parseFilters('{"label":["com.docker.compose.project=shop","tier=back"]}')));
    assert.ok(passes(entry, parseFilters('{"name":{"web":true}}')), 'the older map form');
    assert.ok(passes(entry, parseFilters('{"id":["abc"],"status":["exited","running"]}')));
    assert.ok(!passes(entry, parseFilters('{"status":["exited"]}')));
  });

  it('refuses a filter it does not read, naming the ones it does', () => {
    rejects(() => parseFilters('{"ancestor":["busybox"]}'), 400, /invalid filter 'ancestor': .* by label, name, id, status/);
    rejects(() => parseFilters('{'), 400, /filters: not JSON/);
  });
});

describe('the socket\'s group', () => {
  it('is read from the group file by name, or taken as a number', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tide-group-')), 'group');
    fs.writeFileSync(file, 'root:x:0:\ndocker:x:998:alice,bob\n');
    assert.deepEqual([groupId('docker', file), groupId('42', file)], [998, 42]);
    assert.throws(() => groupId('nope', file), (e: unknown) => e instanceof UsageError && /--group: no group "nope" in/.test(e.message));
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

describe('images', () => {
  it('lists one image per id with its refs as RepoTags, the largest size, newest first', () => {
    const entries = imageEntries([
      { ref: 'busybox:latest', id: 'aaa', sizeBytes: 10, created: '2026-01-01T00:00:00Z', nodes: ['n1'] },
      { ref: 'web:1', id: 'sha256:bbb', sizeBytes: 5, created: '2026-02-01T00:00:00Z', nodes: ['n1'] },
      { ref: 'bb:1', id: 'aaa', sizeBytes: 12, created: '2026-01-01T00:00:00Z', nodes: ['n2'] },
    ]);
    assert.deepEqual(entries.map((e) => [e.Id, e.RepoTags, e.Size]), [['sha256:bbb', ['web:1'], 5], ['sha256:aaa', ['bb:1', 'busybox:latest'], 12]]);
  });
});

describe('streams and versions', () => {
  it('frames output as Docker multiplexes it, cutting big payloads', () => {
    const big = Buffer.alloc(70 * 1024, 0x61);
    const decoded = demultiplex(Buffer.concat([...frames(1, Buffer.from('hi\n')), ...frames(1, big)]));
    assert.deepEqual(decoded.map((f) => [f.stream, f.payload.length]), [[1, 3], [1, 32768], [1, 32768], [1, 6144]]);
    assert.equal(decoded[0].payload.toString(), 'hi\n');
  });

  it('keeps the last lines of a log, a last line without newline included', () => {
    assert.equal(lastLines(Buffer.from('a\nb\nc\n'), 2).toString(), 'b\nc\n');
    assert.equal(lastLines(Buffer.from('a\nb\nc'), 1).toString(), 'c');
    assert.equal(lastLines(Buffer.from('a\n'), 5).toString(), 'a\n');
    assert.equal(lastLines(Buffer.from('a\n'), 0).toString(), '');
  });

  it('strips a version prefix, and refuses a client newer than 1.41 as dockerd does', () => {
    assert.deepEqual(apiVersionOf('/v1.41/containers/json'), { path: '/containers/json', version: '1.41' });
    assert.deepEqual(apiVersionOf('/containers/json'), { path: '/containers/json' });
    const tooNew = apiVersionOf('/v1.43/version');
    assert.ok(tooNew instanceof DockerError && tooNew.status === 400 && /client version 1.43 is too new. Maximum supported API version is 1.41/.test(tooNew.message));
  });
});

describe('the Docker API server without a cluster behind it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-docker-spec-'));
  const socket = path.join(dir, 'docker.sock');
  let server: http.Server;

  before(async () => {
    // The Tide API is stood in for by a client whose answers are fixed: no service exists.
    const api = { server: 'https://tide.test', get: async (p: string) => (p.startsWith('/api/v1/version') ? { version: '9.9.9' } : { items: [] }) } as unknown as ApiClient;
    const docker = new DockerApi(new ContainerVerbs(new TideContainers(api, 'default')), new SystemInfo(api));
    server = http.createServer(docker.handle);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function call(method: string, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: socket, method, path: p }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers the ping with the API version to negotiate', async () => {
    const ping = await call('GET', '/_ping');
    assert.deepEqual([ping.status, ping.body, ping.headers['api-version'], ping.headers.ostype], [200, 'OK', '1.41', 'linux']);
    assert.equal((await call('HEAD', '/v1.41/_ping')).status, 200);
  });

  it('gives the version with and without the prefix', async () => {
    const version = await call('GET', '/v1.41/version');
    assert.equal(version.status, 200);
    assert.deepEqual([JSON.parse(version.body).Version, JSON.parse(version.body).ApiVersion], ['9.9.9', '1.41']);
    assert.equal((await call('GET', '/version')).status, 200);
  });

  it("answers in Docker's error shape: 404 for an unknown container, 501 naming what is missing, 404 for no such path", async () => {
    assert.deepEqual(await call('GET', '/v1.41/containers/ghost/json').then((r) => [r.status, JSON.parse(r.body)]), [404, { message: 'No such container: ghost' }]);
    assert.deepEqual(await call('GET', '/v1.41/images/busybox/json').then((r) => [r.status, JSON.parse(r.body)]), [404, { message: 'No such image: busybox' }]);
    const search = await call('GET', '/v1.41/images/search?term=x');
    assert.equal(search.status, 501);
    assert.match(JSON.parse(search.body).message, /does not support this image endpoint \(search, load, save, prune: use "tsctl image import\|prune"\) \(GET \/images\/search\)/);
    assert.deepEqual(await call('POST', '/v1.41/build?dockerfile=Dockerfile').then((r) => [r.status, JSON.parse(r.body).message]), [501, "Tide's Docker API builds named images only (Tide keeps no untagged images): give -t NAME[:TAG]"]);
    assert.match(await call('POST', '/v1.41/build?t=a&target=x').then((r) => JSON.parse(r.body).message), /does not support --target on builds/);
    assert.match(await call('POST', '/v1.41/commit?container=web&repo=a&changes=CMD%20x').then((r) => JSON.parse(r.body).message), /does not support --change on commits/);
    assert.deepEqual(await call('POST', '/v1.41/commit?container=ghost&repo=a').then((r) => [r.status, JSON.parse(r.body).message]), [404, 'No such container: ghost']);
    const pause = await call('POST', '/v1.41/containers/web/pause');
    assert.deepEqual([pause.status, JSON.parse(pause.body).message], [404, 'No such container: web'], 'pause is served: an unknown container is a 404');
    const archive = await call('GET', '/v1.41/containers/web/archive?path=/');
    assert.deepEqual([archive.status, JSON.parse(archive.body).message], [404, 'No such container: web'], 'archive is served: an unknown container is a 404');
    assert.deepEqual(await call('GET', '/v1.41/nope').then((r) => [r.status, JSON.parse(r.body).message]), [404, 'page not found: GET /nope is not part of the Docker Engine API v1.41']);
    assert.equal((await call('GET', '/v1.50/version')).status, 400);
  });

  it('lists no containers as an empty docker ps', async () => {
    assert.deepEqual(await call('GET', '/v1.41/containers/json?all=1').then((r) => [r.status, JSON.parse(r.body)]), [200, []]);
  });
});
