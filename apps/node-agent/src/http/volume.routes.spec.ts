/** DELETE /v1/local-volumes/NS/NAME on the agent: deletes a volume's directory, unless a replica here mounts it. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { NodeVolumes } from '../volumes/node.volumes';
import { LOCAL_VOLUME_PATH, handleLocalVolumeRequest } from './volume.routes';

async function call(volumes: NodeVolumes, users: string[], method: string, url: string): Promise<{ status: number; body: string }> {
  const server = http.createServer((req, res) => {
    const match = LOCAL_VOLUME_PATH.exec(req.url ?? '');
    if (!match) return void res.writeHead(404).end();
    handleLocalVolumeRequest({ users: () => users, remove: (ns, name, inUse) => volumes.removeLocalVolume(ns, name, inUse) }, req, res, match);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${url}`, { method });
    return { status: response.status, body: await response.text() };
  } finally {
    server.close();
  }
}

describe('local volume deletion on the agent', () => {
  it('deletes the directory, refuses while a replica mounts it, and answers 404 once gone', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-volumes-'));
    try {
      const volumes = new NodeVolumes({ stateDir, memoryDir: () => undefined });
      const dir = volumes.prepare('c1', 'shop', { name: 'data', localVolume: { name: 'pgdata' } });
      fs.writeFileSync(path.join(dir, 'table'), 'rows');
      assert.deepEqual(volumes.localVolumes().map((v) => v.name), ['pgdata']);
      const busy = await call(volumes, ['db-1'], 'DELETE', '/v1/local-volumes/shop/pgdata');
      assert.deepEqual([busy.status, JSON.parse(busy.body).error], [409, 'volume "pgdata" of namespace shop is in use by replica db-1']);
      assert.ok(fs.existsSync(path.join(dir, 'table')));
      assert.equal((await call(volumes, [], 'DELETE', '/v1/local-volumes/shop/pgdata')).status, 204);
      assert.ok(!fs.existsSync(dir));
      assert.deepEqual(volumes.localVolumes(), []);
      assert.equal((await call(volumes, [], 'DELETE', '/v1/local-volumes/shop/pgdata')).status, 404);
      assert.equal((await call(volumes, [], 'DELETE', '/v1/local-volumes/shop/Bad_Name')).status, 400);
      assert.equal((await call(volumes, [], 'GET', '/v1/local-volumes/shop/pgdata')).status, 405);
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
