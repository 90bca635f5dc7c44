import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, ApiError, connectionError } from './api.client';
import { configPath, readCliConfig, resolveCredentials, resolveServer, writeCliConfig } from './cli.config';

describe('server resolution', () => {
  it('prefers --server, then the config file, then the default', () => {
    assert.equal(resolveServer('http://a:1/', { server: 'http://b:2' }), 'http://a:1');
    assert.equal(resolveServer(undefined, { server: 'http://b:2' }), 'http://b:2');
    assert.equal(resolveServer(undefined, {}), 'https://127.0.0.1:7070');
  });

  it('writes the credential file 0600 and reads it back, and survives a missing file', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-'));
    const file = path.join(home, '.tide', 'config');
    assert.deepEqual(readCliConfig(file), {});
    const previous = process.umask(0o022);
    try {
      writeCliConfig({ server: 'https://127.0.0.1:27070', ca: 'PEM', token: 'tide_x', stateDir: '/tmp/x' }, file);
    } finally {
      process.umask(previous);
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readCliConfig(file), { server: 'https://127.0.0.1:27070', ca: 'PEM', token: 'tide_x', stateDir: '/tmp/x' });
    fs.writeFileSync(file, '{ not json');
    assert.throws(() => readCliConfig(file), /config: not a Tide config .*remove it and run "tsctl up"/);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('takes $TIDE_CONFIG before ~/.tide/config', () => {
    assert.equal(configPath({ TIDE_CONFIG: '/etc/tide/admin' }, '/home/a'), '/etc/tide/admin');
    assert.equal(configPath({}, '/home/a'), '/home/a/.tide/config');
  });

  it('lets --server, --token and --ca-file override the file, and names a CA file it cannot read', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-ca-'));
    const caFile = path.join(dir, 'ca.crt');
    fs.writeFileSync(caFile, 'FILE PEM');
    const config = { server: 'https://a:1', ca: 'CONFIG PEM', token: 'tide_config' };
    assert.deepEqual(resolveCredentials(new Map(), config), { server: 'https://a:1', ca: 'CONFIG PEM', token: 'tide_config' });
    assert.deepEqual(resolveCredentials(new Map([['server', 'https://b:2'], ['token', 'tide_flag'], ['ca-file', caFile]]), config),
      { server: 'https://b:2', ca: 'FILE PEM', token: 'tide_flag' });
    assert.deepEqual(resolveCredentials(new Map(), { caFile }), { server: 'https://127.0.0.1:7070', ca: 'FILE PEM' });
    assert.throws(() => resolveCredentials(new Map([['ca-file', path.join(dir, 'nope')]]), config), /^Error: --ca-file: cannot read .*nope \(ENOENT\)$/);
    fs.rmSync(dir, { recursive: true, force: true });
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
