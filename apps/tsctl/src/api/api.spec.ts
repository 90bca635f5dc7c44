import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, ApiError, connectionError } from './api.client';
import { readCliConfig, resolveServer, writeCliConfig } from './cli.config';

describe('server resolution', () => {
  it('prefers --server, then the config file, then the default', () => {
    assert.equal(resolveServer('http://a:1/', { server: 'http://b:2' }), 'http://a:1');
    assert.equal(resolveServer(undefined, { server: 'http://b:2' }), 'http://b:2');
    assert.equal(resolveServer(undefined, {}), 'http://127.0.0.1:7070');
  });

  it('reads back the config it wrote, and survives a missing file', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-'));
    const file = path.join(home, '.tide', 'config.json');
    assert.deepEqual(readCliConfig(file), {});
    writeCliConfig({ server: 'http://127.0.0.1:27070', stateDir: '/tmp/x' }, file);
    assert.deepEqual(readCliConfig(file), { server: 'http://127.0.0.1:27070', stateDir: '/tmp/x' });
    fs.rmSync(home, { recursive: true, force: true });
  });
});

describe('connection errors', () => {
  it('names the server and suggests tsctl up when the connection is refused', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const client = new ApiClient(`http://127.0.0.1:${port}`);
    await assert.rejects(client.get('/api/v1/nodes'), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.message, `cannot connect to the Tide API at http://127.0.0.1:${port} (connection refused): is the cluster running? Start one with "tsctl up"`);
      return true;
    });
  });

  it('names other failures by their code', () => {
    const error = connectionError('http://nowhere:7070', Object.assign(new Error('fetch failed'), { cause: { code: 'ENOTFOUND' } }));
    assert.match(error.message, /http:\/\/nowhere:7070 \(ENOTFOUND\)/);
  });
});
