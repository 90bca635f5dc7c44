/** `tsctl token create --join` and `tsctl node delete` as a user runs them, against a stand-in API. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { tsctl } from '../testing/run.tsctl';

const TOKEN = `tide_0123456789ab_${'A'.repeat(43)}`;
const HASH = `sha256:${'ab'.repeat(32)}`;

describe('tsctl token create --join, node delete', () => {
  const bodies: unknown[] = [];
  let grpcPort = 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/api/v1/tokens') {
        const body = JSON.parse(text) as { node?: string; uses?: number };
        bodies.push(body);
        return res.end(JSON.stringify({
          token: TOKEN, join: { caHash: HASH, grpcPort },
          record: { id: '0123456789ab', kind: 'join', expiresAt: '2026-01-01T01:00:00.000Z', ...(body.node ? { nodeName: body.node } : {}), ...(body.uses ? { maxUses: body.uses } : {}) },
        }));
      }
      if (req.method === 'DELETE' && req.url === '/api/v1/nodes/node-7') {
        return res.end(JSON.stringify({ node: 'node-7', revoked: true, removed: true, message: 'its certificate is revoked and the node removed' }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'node "nope" not found' }));
    });
  });
  let port = 0;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  it('prints the join command alone on its last line, naming the gRPC port and the CA hash', async () => {
    grpcPort = port + 1;
    const made = await tsctl(['--server', `http://127.0.0.1:${port}`, 'token', 'create', '--join', '--ttl', '2h', '--node', 'node-7', '--uses', '1']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout, `echo ${TOKEN} | node-agent --join-token-file - --control-plane 127.0.0.1:${port + 1} --ca-hash ${HASH}\n`);
    assert.match(made.stderr, /join token 0123456789ab created: node node-7 only, 1 use\(s\), expires 2026-01-01T01:00:00.000Z/);
    assert.deepEqual(bodies.at(-1), { kind: 'join', ttl: '2h', node: 'node-7', uses: 1 });
  });

  it('names the API too when it is not one port below gRPC', async () => {
    grpcPort = 7071;
    const made = await tsctl(['--server', `http://127.0.0.1:${port}`, 'token', 'create', '--join']);
    assert.equal(made.stdout, `echo ${TOKEN} | node-agent --join-token-file - --control-plane 127.0.0.1:7071 --ca-hash ${HASH} --api-server 127.0.0.1:${port}\n`);
  });

  it('deletes a node and says what happened', async () => {
    assert.deepEqual(await tsctl(['--server', `http://127.0.0.1:${port}`, 'node', 'delete', 'node-7']),
      { code: 0, stdout: 'node/node-7 deleted: its certificate is revoked and the node removed\n', stderr: '' });
    const missing = await tsctl(['--server', `http://127.0.0.1:${port}`, 'node', 'delete', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /node "nope" not found/);
  });
});
