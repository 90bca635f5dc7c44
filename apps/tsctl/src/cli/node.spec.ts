/** tsctl cordon / uncordon / drain as a user runs them, against a stand-in API that plays a drain. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { DrainItem, DrainProgress } from '@tide/api';
import { tsctl } from '../testing/run.tsctl';

const item = (message: string, replacement?: DrainItem['replacement'], stuck = false): DrainItem => ({
  namespace: 'default', replica: 'web-abcde-fghjk', service: 'web', phase: 'Running', ready: true,
  ...(replacement ? { replacement } : {}), surge: false, stuck, message,
});
const drain = { reason: 'Drain' as const, startedAt: '2026-01-01T00:00:00Z' };
const progress = (remaining: DrainItem[], extra: Partial<DrainProgress> = {}): DrainProgress => ({
  node: 'node-1', cordoned: true, drain, empty: remaining.length === 0, remaining, stopping: [], moved: [], ...extra,
});

/** node-1 drains in three answers; node-2 never can ("stuck"). Every request is recorded. */
function standInApi(requests: string[]): http.Server {
  const moving = { name: 'web-abcde-zzzzz', node: 'node-2', phase: 'Starting', ready: false };
  const script = [
    progress([item('waiting for its turn to move')]),
    progress([item('replacement web-abcde-zzzzz starting on node-2', moving)]),
    progress([], { stopping: [{ ...item('stopping (grace period 1s): replacement web-abcde-zzzzz is ready on node-2'), phase: 'Terminating' }],
      moved: [{ namespace: 'default', replica: 'web-abcde-fghjk', replacement: 'web-abcde-zzzzz', node: 'node-2' }], empty: false }),
    // Done: the marker is cleared; an older move of another replica is not this drain's business.
    progress([], { drain: undefined, moved: [{ namespace: 'default', replica: 'web-old', replacement: 'web-new', node: 'node-2' },
      { namespace: 'default', replica: 'web-abcde-fghjk', replacement: 'web-abcde-zzzzz', node: 'node-2' }] }),
  ];
  let step = 0;
  return http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    const url = req.url ?? '';
    if (url.startsWith('/api/v1/nodes/nope/')) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ error: 'node "nope" not found' }));
    }
    if (url.endsWith('/cordon') || url.endsWith('/uncordon')) return res.end(JSON.stringify({ spec: {} }));
    if (url === '/api/v1/nodes/node-1/drain') return res.end(JSON.stringify(script[Math.min(step++, script.length - 1)]));
    const stuck = item('stuck: no other node can take its replacement web-abcde-zzzzz: 0/2 nodes available: 1 cordoned, 1 insufficient memory',
      { name: 'web-abcde-zzzzz', phase: 'Pending', ready: false }, true);
    return res.end(JSON.stringify(progress([stuck], { node: 'node-2', drain: req.method === 'DELETE' ? undefined : drain })));
  });
}

describe('tsctl cordon, uncordon, drain', () => {
  const requests: string[] = [];
  const server = standInApi(requests);
  let url: string;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('cordons and uncordons', async () => {
    assert.deepEqual(await tsctl(['--server', url, 'cordon', 'node-1']), { code: 0, stdout: 'node/node-1 cordoned\n', stderr: '' });
    assert.deepEqual(await tsctl(['--server', url, 'uncordon', 'node/node-1']), { code: 0, stdout: 'node/node-1 uncordoned\n', stderr: '' });
    assert.ok(requests.includes('POST /api/v1/nodes/node-1/cordon') && requests.includes('POST /api/v1/nodes/node-1/uncordon'));
  });

  it('shows the progress of a drain and returns once the node is empty', async () => {
    const run = await tsctl(['--server', url, 'drain', 'node-1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, [
      'node/node-1 cordoned',
      'draining node/node-1: 1 replica(s) to move',
      '  web-abcde-fghjk: waiting for its turn to move',
      '  web-abcde-fghjk: replacement web-abcde-zzzzz starting on node-2',
      '  web-abcde-fghjk: stopping (grace period 1s): replacement web-abcde-zzzzz is ready on node-2',
      '  web-abcde-fghjk: moved to node-2 (web-abcde-zzzzz)',
      'node/node-1 drained',
      '',
    ].join('\n'));
  });

  it('fails after --timeout with the reason, and stops the drain', async () => {
    const run = await tsctl(['--server', url, 'drain', 'node-2', '--timeout', '1']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /web-abcde-fghjk: stuck: no other node can take its replacement/);
    assert.match(run.stderr, /^error: drain of node node-2 timed out after 1s with 1 replica\(s\) left: web-abcde-fghjk: stuck: .*0\/2 nodes available: 1 cordoned, 1 insufficient memory\. The node stays cordoned/);
    assert.ok(requests.includes('DELETE /api/v1/nodes/node-2/drain'), 'the drain is stopped');
  });

  it('names an unknown node, and wants exactly one NODE', async () => {
    const unknown = await tsctl(['--server', url, 'drain', 'nope']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'error: node "nope" not found\n']);
    const usage = await tsctl(['--server', url, 'cordon']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /expected one NODE\nusage: tsctl cordon NODE/);
  });
});
