/** The Docker API on TCP: its flags and files, and its mutual TLS against a stand-in control plane. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { FORWARDED_CERTIFICATE_HEADER } from '@tide/auth';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@tide/pki';
import { ApiClient } from '../api/api.client';
import { UsageError } from '../cli/args';
import { TideContainers } from './docker.backend';
import { ContainerVerbs } from './docker.containers';
import { DockerApi } from './docker.server';
import { SystemInfo } from './docker.system';
import { TcpDockerServer } from './docker.tcp';
import { certificateDirectory, dockerTlsEnvironment, parseTcpAddress, servingNames, writeClientFiles } from './docker.tls';

describe('--tcp HOST:PORT', () => {
  it('reads host and port, IPv6 in brackets', () => {
    assert.deepEqual(parseTcpAddress('127.0.0.1:2376'), { host: '127.0.0.1', port: 2376 });
    assert.deepEqual(parseTcpAddress('docker.example:2376'), { host: 'docker.example', port: 2376 });
    assert.deepEqual(parseTcpAddress('[::1]:2376'), { host: '::1', port: 2376 });
  });
  // [input, what the refusal says]: the flag is always named.
  const bad: Array<[string, RegExp]> = [
    ['2376', /^--tcp: "2376" is not HOST:PORT \(e\.g\. 127\.0\.0\.1:2376/],
    ['127.0.0.1:', /is not HOST:PORT/],
    ['127.0.0.1:99999', /^--tcp: port 99999 is not between 1 and 65535$/],
    ['::1:2376', /is not HOST:PORT/],
    ['[zz]:2376', /is not HOST:PORT/],
  ];
  for (const [text, reason] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseTcpAddress(text), (e: unknown) => e instanceof UsageError && reason.test(e.message)));
  }
  it('names the flag it was given as', () => assert.throws(() => parseTcpAddress('x', '--docker-tcp'), /--docker-tcp: "x" is not HOST:PORT/));

  it('serves a certificate for the names a client may dial', () => {
    assert.deepEqual(servingNames('127.0.0.1', 'box', ['127.0.0.1', '192.0.2.7']), ['127.0.0.1', 'localhost']);
    assert.deepEqual(servingNames('192.0.2.7', 'box', ['127.0.0.1', '192.0.2.7']), ['192.0.2.7']);
    // A wildcard: every address of the machine and its names.
    assert.deepEqual(servingNames('0.0.0.0', 'box', ['127.0.0.1', '192.0.2.7', '::1']), ['localhost', 'box', '127.0.0.1', '192.0.2.7', '::1']);
  });

  it('prints the lines docker reads, to eval', () => {
    assert.deepEqual(dockerTlsEnvironment({ host: '::1', port: 2376 }, '/home/u/.tide/docker-tls'), [
      'export DOCKER_HOST=tcp://[::1]:2376', 'export DOCKER_TLS_VERIFY=1', 'export DOCKER_CERT_PATH=/home/u/.tide/docker-tls',
    ]);
  });
});

describe('the client files', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-docker-tls-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a --cert-dir that does not exist, saying how to make it; makes the default one 0700', () => {
    const missing = path.join(dir, 'nope');
    assert.throws(() => certificateDirectory(missing, path.join(dir, 'default')), (e: unknown) => e instanceof UsageError
      && e.message === `--cert-dir: ${missing} does not exist: create it (mkdir -m 700 ${missing}) or leave --cert-dir out for ${path.join(dir, 'default')}`);
    assert.equal(certificateDirectory(undefined, path.join(dir, 'default')), path.join(dir, 'default'));
    assert.equal(fs.statSync(path.join(dir, 'default')).mode & 0o777, 0o700);
  });

  it('writes ca.pem, cert.pem and key.pem, the key 0600 even over an older wider file', () => {
    fs.writeFileSync(path.join(dir, 'key.pem'), 'old', { mode: 0o644 });
    writeClientFiles(dir, { ca: 'CA', certificate: 'CERT', key: 'KEY', notAfter: '' });
    assert.deepEqual(['ca.pem', 'cert.pem', 'key.pem'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), ['CA', 'CERT', 'KEY']);
    assert.equal(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777, 0o600);
  });
});

describe('docker-serve on TCP with mutual TLS', () => {
  let ca: CertificateAuthority;
  let server: TcpDockerServer;
  let controlPlane: http.Server;
  const forwarded: Array<string | undefined> = [];
  let port = 0;

  before(async () => {
    ca = await createCertificateAuthority();
    // A stand-in control plane: records whom each call is made for, answers an empty cluster.
    controlPlane = http.createServer((req, res) => {
      forwarded.push(req.headers[FORWARDED_CERTIFICATE_HEADER] as string | undefined);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [] }));
    });
    await new Promise<void>((resolve) => controlPlane.listen(0, '127.0.0.1', resolve));
    const api = new ApiClient({ server: `http://127.0.0.1:${(controlPlane.address() as { port: number }).port}`, token: 'tide_x' });
    const serving = await issueServerCertificate(ca, { commonName: 'tide:docker-serve', ipAddresses: ['127.0.0.1'] });
    server = new TcpDockerServer({ certificate: serving.certificatePem, key: serving.key.toPem(), ca: ca.certificatePem, notAfter: '' }, api,
      (client) => new DockerApi(new ContainerVerbs(new TideContainers(client, 'default')), new SystemInfo(client)));
    await server.listen({ host: '127.0.0.1', port: 0 });
    port = server.port();
  });
  after(() => {
    server?.close();
    controlPlane?.close();
  });

  const get = (options: https.RequestOptions) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1.41/containers/json', ca: ca.certificatePem, ...options }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

  it("acts for the client's certificate, forwarded as its DER", async () => {
    const client = await issueClientCertificate(ca, { commonName: 'token:aaaaaaaaaaaa', organizations: ['tide:role:view'] });
    const answer = await get({ cert: client.certificatePem, key: client.key.toPem() });
    assert.deepEqual(answer, { status: 200, body: '[]\n' });
    const der = Buffer.from(client.certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    assert.ok(forwarded.length > 0 && forwarded.every((h) => h === der), 'every call to the control plane names the caller');
  });

  it('refuses a client without a certificate, and one of another CA', async () => {
    await assert.rejects(get({}), /certificate required|ECONNRESET|socket hang up|alert/i);
    const other = await createCertificateAuthority({ commonName: 'other-ca' });
    const stranger = await issueClientCertificate(other, { commonName: 'token:aaaaaaaaaaaa', organizations: ['tide:role:admin'] });
    await assert.rejects(get({ cert: stranger.certificatePem, key: stranger.key.toPem() }), /unknown ca|ECONNRESET|socket hang up|alert/i);
  });

  it("keeps writing an attach's output after the client closed its side (docker run without -i)", async () => {
    const serving = await issueServerCertificate(ca, { commonName: 'tide:docker-serve', ipAddresses: ['127.0.0.1'] });
    const upgraded = { handle: () => undefined, handleUpgrade: (_req: unknown, socket: import('node:stream').Duplex) => {
      socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
      // The output comes later than the client's end (a container still starting).
      socket.once('end', () => setTimeout(() => socket.end('output after the client closed its side'), 100));
    } } as unknown as DockerApi;
    const attachServer = new TcpDockerServer({ certificate: serving.certificatePem, key: serving.key.toPem(), ca: ca.certificatePem, notAfter: '' }, new ApiClient('http://127.0.0.1:1'), () => upgraded);
    await attachServer.listen({ host: '127.0.0.1', port: 0 });
    try {
      const client = await issueClientCertificate(ca, { commonName: 'token:aaaaaaaaaaaa', organizations: ['tide:role:view'] });
      const socket = tls.connect({ host: '127.0.0.1', port: attachServer.port(), ca: ca.certificatePem, cert: client.certificatePem, key: client.key.toPem() }, () => {
        socket.end('POST /containers/x/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk));
      await new Promise((resolve) => socket.on('close', resolve));
      assert.match(received, /output after the client closed its side$/);
    } finally {
      attachServer.close();
    }
  });

  it('serves a new certificate to new connections once a third of the old one\'s life is left', async () => {
    // 3 s of life (backdated 0.3 s): due after about 2.2 s; checked every 100 ms here.
    const shortLived = async () => {
      const issued = await issueServerCertificate(ca, { commonName: 'tide:docker-serve', ipAddresses: ['127.0.0.1'], validityMs: 3_000 });
      return { certificate: issued.certificatePem, key: issued.key.toPem(), ca: ca.certificatePem, notAfter: '' };
    };
    const renewing = new TcpDockerServer(await shortLived(), new ApiClient('http://127.0.0.1:1'), () => ({ handle: () => undefined }) as unknown as DockerApi);
    await renewing.listen({ host: '127.0.0.1', port: 0 });
    const notes: string[] = [];
    renewing.keepRenewed(shortLived, (line) => notes.push(line), 100);
    const client = await issueClientCertificate(ca, { commonName: 'token:aaaaaaaaaaaa', organizations: ['tide:role:view'] });
    const servedSerial = () => new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: renewing.port(), ca: ca.certificatePem, cert: client.certificatePem, key: client.key.toPem() }, () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    try {
      const first = await servedSerial();
      const deadline = Date.now() + 10_000;
      while ((await servedSerial()) === first) {
        assert.ok(Date.now() < deadline, 'no new certificate within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.match(notes[0], /^docker-serve: new serving certificate for TCP/);
    } finally {
      renewing.close();
    }
  });

  it('names a port in use and what to do', async () => {
    const again = new TcpDockerServer({ certificate: '', key: '', ca: '', notAfter: '' } as never, undefined as never, undefined as never);
    await assert.rejects(again.listen({ host: '127.0.0.1', port }), new RegExp(`^CommandError: --tcp: 127\\.0\\.0\\.1:${port} is already in use \\(another docker-serve or dockerd\\?\\): stop it or choose another port$`));
  });
});
