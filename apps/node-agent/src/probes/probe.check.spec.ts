/** Probe checks against real sockets on loopback, and exec through the fake runtime. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { FakeRuntime } from '@tide/runtime/testing';
import { execCheck, httpCheck, tcpCheck } from './probe.check';

/** A time limit no loaded machine reaches, for checks that must pass or fail on their own merits. */
const GENEROUS_MS = 30_000;

describe('probe checks', () => {
  let server: http.Server;
  let port: number;
  let closedPort: number;

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/silent') return; // never answers: the probe's own time limit must end it
      const status = Number(req.url?.slice(1)) || 200;
      res.writeHead(status, status === 301 ? { location: '/elsewhere' } : {}).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    const spare = net.createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    closedPort = (spare.address() as net.AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('passes an HTTP status from 200 to 399, redirects not followed', async () => {
    for (const status of [200, 204, 301, 399]) assert.deepEqual(await httpCheck('127.0.0.1', port, `/${status}`, GENEROUS_MS), { passed: true }, `status ${status}`);
  });

  it('fails 400 and above, a refused connection and a timeout, saying which URL and why', async () => {
    assert.deepEqual(await httpCheck('127.0.0.1', port, '/500', GENEROUS_MS), { passed: false, message: `HTTP GET http://127.0.0.1:${port}/500: status 500` });
    assert.match((await httpCheck('127.0.0.1', closedPort, '/', GENEROUS_MS)).message!, /ECONNREFUSED/);
    assert.deepEqual(await httpCheck('127.0.0.1', port, '/silent', 100), { passed: false, message: `HTTP GET http://127.0.0.1:${port}/silent: no answer within 0.1 s` });
  });

  it('passes a TCP port that accepts, fails one that refuses', async () => {
    assert.deepEqual(await tcpCheck('127.0.0.1', port, GENEROUS_MS), { passed: true });
    assert.match((await tcpCheck('127.0.0.1', closedPort, GENEROUS_MS)).message!, new RegExp(`TCP 127.0.0.1:${closedPort}: .*ECONNREFUSED`));
  });

  it('passes an exec that exits 0, fails a non-zero exit with its output, kills one that runs too long', async () => {
    const runtime = new FakeRuntime();
    runtime.images.add('busybox');
    await runtime.start({ id: 'default.web-1', image: 'busybox', command: ['sleep', '100'], hostname: 'web-1', labels: {}, logPath: '/dev/null' } as never);
    assert.deepEqual(await execCheck(runtime, 'default.web-1', ['true'], GENEROUS_MS), { passed: true });
    assert.deepEqual(await execCheck(runtime, 'default.web-1', ['sh', '-c', 'echo not healthy; exit 3'], GENEROUS_MS), { passed: false, message: 'exec ["sh","-c","echo not healthy; exit 3"]: exit code 3: not healthy' });
    const slow = await execCheck(runtime, 'default.web-1', ['sleep', '3600'], 100);
    assert.equal(slow.message, 'exec ["sleep","3600"]: still running after 0.1 s');
    assert.deepEqual(runtime.execSessions.at(-1)?.signals, ['SIGKILL']);
    assert.match((await execCheck(runtime, 'default.gone', ['true'], GENEROUS_MS)).message!, /^exec \["true"\]: /, 'an unknown container fails the check');
  });
});
