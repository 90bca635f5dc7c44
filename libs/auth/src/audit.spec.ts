import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { auditRecord, formatAuditLine, isMutating } from './audit';
import { authorize } from './authorize';
import type { Subject } from './subjects';

const time = new Date('2030-01-01T12:00:00Z');
const editA: Subject = { kind: 'user', name: 'token:cccccccccccc', role: 'edit', namespace: 'a' };

describe('audit log', () => {
  it('audits writes, not reads', () => {
    assert.deepEqual(['get', 'list', 'watch', 'create', 'update', 'delete'].map((verb) => isMutating(verb as never)), [false, false, false, true, true, true]);
  });

  it('writes one JSON line per request: who, verb, what, when, result', () => {
    const request = { verb: 'update' as const, resource: 'services/scale', namespace: 'a', name: 'web' };
    const line = formatAuditLine(auditRecord({ subject: editA, request, decision: authorize(editA, request), status: 200, time, source: '127.0.0.1' }));
    assert.equal(line, '{"time":"2030-01-01T12:00:00.000Z","user":"token:cccccccccccc","verb":"update","resource":"services/scale","namespace":"a","name":"web","result":"succeeded","status":200,"source":"127.0.0.1"}\n');
  });

  it('records refusals with their status and reason, the anonymous ones too', () => {
    const elsewhere = { verb: 'create' as const, resource: 'services', namespace: 'b' };
    assert.deepEqual(auditRecord({ subject: editA, request: elsewhere, decision: authorize(editA, elsewhere), time }), {
      time: '2030-01-01T12:00:00.000Z', user: 'token:cccccccccccc', verb: 'create', resource: 'services', namespace: 'b',
      result: 'forbidden', status: 403, reason: 'token:cccccccccccc is limited to namespace "a", not "b"',
    });
    const anonymous = auditRecord({ subject: undefined, request: elsewhere, decision: authorize(undefined, elsewhere), time });
    assert.equal(anonymous.user, 'anonymous');
    assert.equal(anonymous.result, 'unauthenticated');
    assert.equal(anonymous.status, 401);
  });

  it('an allowed request that failed is "failed" with its status', () => {
    const request = { verb: 'create' as const, resource: 'services', namespace: 'a' };
    const record = auditRecord({ subject: editA, request, decision: authorize(editA, request), status: 400, reason: 'spec.replicas: must be ≥ 0', time });
    assert.equal(record.result, 'failed');
    assert.equal(record.reason, 'spec.replicas: must be ≥ 0');
  });

  it('a name with a newline cannot forge a second line', () => {
    const request = { verb: 'delete' as const, resource: 'services', namespace: 'a', name: 'web\n{"user":"admin"}' };
    const line = formatAuditLine(auditRecord({ subject: editA, request, decision: authorize(editA, request), time }));
    assert.equal(line.split('\n').length, 2, 'one line and the final newline');
    assert.equal(JSON.parse(line).name, 'web\n{"user":"admin"}');
  });
});
