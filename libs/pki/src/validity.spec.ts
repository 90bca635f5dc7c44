import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createCertificateAuthority } from './ca';
import { issueServerCertificate, BACKDATE_MS } from './issue';
import { checkValidity, renewalDecision, verifyIssuedBy } from './validity';

const DAY = 86_400_000;

describe('expiry and renewal', () => {
  it('tells not-yet-valid, valid and expired apart', async () => {
    const issued = new Date('2031-01-01T00:00:00Z');
    const ca = await createCertificateAuthority({ now: new Date('2030-01-01T00:00:00Z') });
    const { certificatePem } = await issueServerCertificate(ca, { commonName: 'x', dnsNames: ['x.test'], now: issued, validityMs: 30 * DAY });
    // notBefore is backdated 5 minutes: issued − 5 min
    const early = checkValidity(certificatePem, new Date(issued.getTime() - BACKDATE_MS - 1));
    assert.deepEqual(early, { ok: false, reason: 'certificate: not valid before 2030-12-31T23:55:00.000Z' });
    assert.equal(checkValidity(certificatePem, issued).ok, true);
    const expired = checkValidity(certificatePem, new Date('2031-01-31T00:00:00Z'), 'api.crt');
    assert.deepEqual(expired, { ok: false, reason: 'api.crt: expired on 2031-01-31T00:00:00.000Z' });
  });

  it('renews once less than a third of the lifetime is left', async () => {
    const issued = new Date('2031-01-01T00:00:00Z');
    const ca = await createCertificateAuthority({ now: new Date('2030-01-01T00:00:00Z') });
    const { certificatePem } = await issueServerCertificate(ca, { commonName: 'x', dnsNames: ['x.test'], now: issued, validityMs: 90 * DAY });
    // lifetime = 90 d + 5 min (backdate) = 7 776 300 s; a third = 2 592 100 s = 30 d + 100 s
    // renewAt = notAfter (2031-04-01T00:00:00Z) − 30 d 100 s = 2031-03-01T23:58:20Z
    const table: Array<[string, boolean, RegExp]> = [
      ['2031-01-01T00:00:00Z', false, /renewal due at 2031-03-01T23:58:20\.000Z/],
      ['2031-03-01T23:58:19Z', false, /valid until/],
      ['2031-03-01T23:58:20Z', true, /less than a third of its lifetime left \(720 h until/],
      ['2031-03-31T23:59:59Z', true, /less than a third/],
      ['2031-04-01T00:00:00Z', true, /expired on 2031-04-01/],
    ];
    for (const [at, renew, reason] of table) {
      const decision = renewalDecision(certificatePem, new Date(at));
      assert.equal(decision.renew, renew, at);
      assert.match(decision.reason, reason, at);
      assert.equal(decision.renewAt.toISOString(), '2031-03-01T23:58:20.000Z');
    }
  });

  it('refuses a certificate from another CA', async () => {
    const ours = await createCertificateAuthority();
    const theirs = await createCertificateAuthority();
    const { certificatePem } = await issueServerCertificate(theirs, { commonName: 'x', dnsNames: ['x.test'] });
    assert.deepEqual(verifyIssuedBy(certificatePem, ours.certificatePem), { ok: false, reason: 'certificate: not issued by this CA' });
  });
});
