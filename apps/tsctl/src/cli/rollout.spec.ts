/** tsctl rollout status / history / undo as a user runs them, against a stand-in API that plays a rollout. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { Service, ServiceCondition, ServiceRevision, ServiceStatus } from '@tide/api';
import { tsctl } from '../testing/run.tsctl';

const condition = (reason: string, message = ''): ServiceCondition => ({
  type: 'Progressing', status: reason === 'ProgressDeadlineExceeded' ? 'False' : 'True', reason, message,
  lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z',
});

function web(name: string, generation: number, status: Partial<ServiceStatus> & { reason: string; message?: string }): Service {
  const { reason, message, ...counts } = status;
  return {
    apiVersion: 'tide/v1', kind: 'Service', metadata: { name, namespace: 'default', generation }, spec: { replicas: 4, image: 'web:2' },
    status: { observedGeneration: 2, replicas: 4, readyReplicas: 4, runningReplicas: 4, pendingReplicas: 0, revision: 2,
      updatedReplicas: 0, updatedReadyReplicas: 0, oldReplicas: 4, ...counts, conditions: [condition(reason, message)] },
  };
}

const updating = 'ReplicasUpdating';
/** web rolls in five answers (the first one before the controller saw generation 3); stuck never gets anywhere. */
const script: Service[] = [
  web('web', 3, { observedGeneration: 2, reason: 'NewReplicasAvailable' }),
  web('web', 3, { observedGeneration: 3, updatedReplicas: 1, reason: updating }),
  web('web', 3, { observedGeneration: 3, updatedReplicas: 1, reason: updating }),
  web('web', 3, { observedGeneration: 3, updatedReplicas: 4, updatedReadyReplicas: 3, oldReplicas: 1, reason: updating }),
  web('web', 3, { observedGeneration: 3, updatedReplicas: 4, updatedReadyReplicas: 3, oldReplicas: 0, reason: updating }),
  web('web', 3, { observedGeneration: 3, updatedReplicas: 4, updatedReadyReplicas: 4, oldReplicas: 0, reason: 'NewReplicasAvailable' }),
];
const STUCK_MESSAGE = 'revision 2 made no progress for 60s (1 of 4 updated, 0 ready, 4 old replica(s) still serving): replica web-abcde-fghjk not ready: readiness probe failed: HTTP GET /healthz: 503';

const revision = (n: number, image: string, env: Record<string, string>, age: number): ServiceRevision => ({
  apiVersion: 'tide/v1', kind: 'ServiceRevision', metadata: { name: `web-${n}`, namespace: 'default', creationTimestamp: new Date(Date.now() - age * 1000).toISOString() },
  spec: { service: 'web', revision: n, templateHash: `h${n}`, template: { image, env } },
});
/** Made at each request, ages half a minute into their minute: "30m" however slowly tsctl starts. */
const revisions = () => [revision(2, 'web:1', { A: '1' }, 1830), revision(3, 'web:1', { A: '2' }, 1230), revision(4, 'web:2', { A: '2' }, 630)];

function standInApi(requests: string[]): http.Server {
  let step = 0;
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${body}`.trim());
      res.setHeader('content-type', 'application/json');
      const url = req.url ?? '';
      if (url.startsWith('/api/v1/services/web?')) return res.end(JSON.stringify(script[Math.min(step++, script.length - 1)]));
      if (url.startsWith('/api/v1/services/stuck?')) return res.end(JSON.stringify(web('stuck', 2, { updatedReplicas: 1, reason: 'ProgressDeadlineExceeded', message: STUCK_MESSAGE })));
      if (url.startsWith('/api/v1/services/web/revisions?')) return res.end(JSON.stringify({ items: revisions() }));
      if (url.startsWith('/api/v1/services/web/rollback?')) {
        const wanted = JSON.parse(body).revision as number | undefined;
        if (wanted === 9) {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: 'revision: revision 9 not found in the history of service "web" (revisions: 2, 3, 4)' }));
        }
        return res.end(JSON.stringify({ service: 'web', revision: wanted ?? 3, action: wanted === 4 ? 'unchanged' : 'rolledBack' }));
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: 'service "nope" not found in namespace "default"' }));
    });
  });
}

describe('tsctl rollout', () => {
  const requests: string[] = [];
  const server = standInApi(requests);
  let url: string;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('status prints each new state of the rollout and exits 0 once it is done', async () => {
    const run = await tsctl(['--server', url, 'rollout', 'status', 'service', 'web']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, [
      'Waiting for service "web" rollout to finish: the control plane has not seen the new spec yet...',
      'Waiting for service "web" rollout to finish: 1 out of 4 new replicas have been updated...',
      'Waiting for service "web" rollout to finish: 1 old replicas are pending termination...',
      'Waiting for service "web" rollout to finish: 3 of 4 updated replicas are available...',
      'service "web" successfully rolled out',
      '',
    ].join('\n'));
  });

  it('status exits 1 with the reason when the rollout is stuck', async () => {
    const run = await tsctl(['--server', url, 'rollout', 'status', 'service/stuck']);
    assert.deepEqual([run.code, run.stdout], [1, '']);
    assert.equal(run.stderr, `error: service "stuck" rollout (revision 2) exceeded its progress deadline: ${STUCK_MESSAGE}\n`);
  });

  it('history lists the revisions with what changed, and prints one revision\'s template', async () => {
    const run = await tsctl(['--server', url, 'rollout', 'history', 'service', 'web']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, [
      'service/web',
      'REVISION   IMAGE   CHANGED        AGE',
      '2          web:1   <first kept>   30m',
      '3          web:1   env            20m',
      '4          web:2   image          10m',
      '',
    ].join('\n'));
    const one = await tsctl(['--server', url, 'rollout', 'history', 'service', 'web', '--revision', '3']);
    assert.equal(one.stdout, 'image: web:1\nenv:\n  A: "2"\n');
    const missing = await tsctl(['--server', url, 'rollout', 'history', 'service', 'web', '--revision', '7']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'error: revision 7 not found in the history of service "web" (revisions: 2, 3, 4)\n']);
  });

  it('undo goes back to the previous revision or the one named, and says when there is nothing to do', async () => {
    assert.deepEqual(await tsctl(['--server', url, 'rollout', 'undo', 'service', 'web']), { code: 0, stdout: 'service/web rolled back to revision 3\n', stderr: '' });
    assert.equal((await tsctl(['--server', url, 'rollout', 'undo', 'service', 'web', '--to-revision', '2'])).stdout, 'service/web rolled back to revision 2\n');
    assert.ok(requests.includes('POST /api/v1/services/web/rollback?namespace=default {}'));
    assert.ok(requests.includes('POST /api/v1/services/web/rollback?namespace=default {"revision":2}'));
    assert.equal((await tsctl(['--server', url, 'rollout', 'undo', 'service', 'web', '--to-revision', '4'])).stdout,
      'service/web skipped rollback (the current template is already revision 4\'s)\n');
    const missing = await tsctl(['--server', url, 'rollout', 'undo', 'service', 'web', '--to-revision', '9']);
    assert.deepEqual([missing.code, missing.stderr], [1, 'error: revision: revision 9 not found in the history of service "web" (revisions: 2, 3, 4)\n']);
  });

  it('refuses what it cannot do, with the usage', async () => {
    const bad = await tsctl(['--server', url, 'rollout', 'pause', 'service', 'web']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: rollout needs status, history, undo or restart, got "pause"\nusage: tsctl rollout status service NAME/);
    const stray = await tsctl(['--server', url, 'rollout', 'status', 'service', 'web', '--to-revision', '2']);
    assert.match(stray.stderr, /--to-revision does not apply to "rollout status"/);
    const unknown = await tsctl(['--server', url, 'rollout', 'status', 'service', 'nope']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'error: service "nope" not found in namespace "default"\n']);
  });
});
