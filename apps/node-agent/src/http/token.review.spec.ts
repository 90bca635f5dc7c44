/** Tokens sent to the agent are checked by the control plane: answers kept briefly, refusals shorter, failures not at all. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { issueServerCertificate } from '@tide/pki';
import type { Refusal, Subject } from '@tide/auth';
import { TestAgentPki, makeTestAgentPki } from '../testing/agent.pki';
import { ManualClock } from '../testing/manual.clock';
import { REFUSAL_TTL_MS, REVIEW_TTL_MS, controlPlaneTokenReview, whoami } from './token.review';

const VIEWER: Subject = { kind: 'user', name: 'token:aaaaaaaaaaaa', role: 'view' };

describe('token review cache', () => {
  it('asks once per token within the TTL, again after it; a refusal for a shorter while; an unreachable control plane each time', async () => {
    const clock = new ManualClock();
    const asked: string[] = [];
    let answer: Subject | Refusal | Error = VIEWER;
    const review = controlPlaneTokenReview({
      apiServer: 'https://cp:7070', caPem: () => '', now: () => clock.now(),
      ask: async (header) => {
        asked.push(header);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    assert.deepEqual(await review('Bearer a'), VIEWER);
    clock.advance(REVIEW_TTL_MS - 1);
    assert.deepEqual(await review('Bearer a'), VIEWER);
    assert.equal(asked.length, 1, 'kept for REVIEW_TTL_MS');
    clock.advance(1);
    answer = { allowed: false, status: 401, reason: 'unknown or revoked token aaaaaaaaaaaa' };
    assert.equal(((await review('Bearer a')) as Refusal).status, 401, 'revoked: seen once the TTL is over');
    clock.advance(REFUSAL_TTL_MS - 1);
    await review('Bearer a');
    assert.equal(asked.length, 2);
    clock.advance(1);
    answer = new Error('ECONNREFUSED');
    const down = (await review('Bearer a')) as Refusal;
    assert.match(down.reason, /cannot check the token with the control plane at https:\/\/cp:7070: ECONNREFUSED/);
    await review('Bearer a');
    assert.equal(asked.length, 4, 'a failure is not kept');
  });
});

describe('whoami against an HTTPS API', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-whoami-'));
  let pki: TestAgentPki;
  let server: https.Server;
  let url: string;
  const headers: string[] = [];

  before(async () => {
    pki = await makeTestAgentPki(dir);
    const serving = await issueServerCertificate(pki.ca, { commonName: 'tide-control-plane', ipAddresses: ['127.0.0.1'] });
    server = https.createServer({ cert: serving.certificatePem, key: serving.key.toPem() }, (req, res) => {
      headers.push(req.headers.authorization ?? '');
      const ok = req.url === '/api/v1/whoami' && req.headers.authorization === 'Bearer good';
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(ok ? { subject: VIEWER, name: VIEWER.kind === 'user' ? VIEWER.name : '' } : { error: 'invalid token', details: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await pki.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends the header as it came and reads the subject or the refusal', async () => {
    assert.deepEqual(await whoami(url, pki.ca.certificatePem, 'Bearer good'), VIEWER);
    assert.deepEqual(await whoami(url, pki.ca.certificatePem, 'Bearer bad'), { allowed: false, status: 401, reason: 'invalid token' });
    assert.deepEqual(headers, ['Bearer good', 'Bearer bad']);
  });

  it('sends no token to a server whose certificate is not from the cluster CA', async () => {
    const other = await makeTestAgentPki(path.join(dir, 'other'));
    const count = headers.length;
    await assert.rejects(whoami(url, other.ca.certificatePem, 'Bearer good'), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed|unable to verify/i);
    assert.equal(headers.length, count);
    await other.close();
  });
});
