import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { RCODE, answerClusterQuery, inClusterDomain, serviceRecords } from './cluster.dns';

/** dns-packet decodes the response code, but its types do not declare it. */
const rcodeOf = (packet: dnsPacket.DecodedPacket): string => (packet as unknown as { rcode: string }).rcode;

const records = serviceRecords([
  { namespace: 'default', service: 'web', ip: '100.96.0.1', ports: [] },
  { namespace: 'shop', service: 'cart', ip: '100.96.0.2', ports: [] },
]);

/** A query as a resolver sends it, through the wire format and back. */
function query(name: string, type: dnsPacket.RecordType = 'A'): dnsPacket.DecodedPacket {
  return dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }));
}

function answer(name: string, type: dnsPacket.RecordType = 'A'): dnsPacket.DecodedPacket {
  return dnsPacket.decode(dnsPacket.encode(answerClusterQuery(query(name, type), records)));
}

describe('cluster DNS answers', () => {
  it('answers NAME.NAMESPACE.svc.tide with the service IP, authoritative, same id, any letter case', () => {
    const reply = answer('Web.Default.svc.tide');
    assert.equal(reply.id, 4242);
    assert.equal(rcodeOf(reply), 'NOERROR');
    assert.equal(reply.flag_aa, true);
    assert.equal(reply.flag_rd, true);
    assert.deepEqual(reply.answers?.map((a) => [a.type, a.name, (a as dnsPacket.StringAnswer).data]), [['A', 'Web.Default.svc.tide', '100.96.0.1']]);
    assert.equal(answer('cart.shop.svc.tide.').answers?.length, 1);
  });

  it('answers other types of a service name with no records (so that an AAAA next to the A fails nothing)', () => {
    const reply = answer('web.default.svc.tide', 'AAAA');
    assert.equal(rcodeOf(reply), 'NOERROR');
    assert.deepEqual(reply.answers, []);
  });

  it('says NXDOMAIN for names of the cluster domain that are not services: unknown, other namespace, search-list tails', () => {
    for (const name of ['nope.default.svc.tide', 'web.shop.svc.tide', 'web.default.svc.tide.tide', 'web.tide', 'web.default.tide']) {
      assert.equal(rcodeOf(answer(name)), 'NXDOMAIN', name);
    }
  });

  it('answers the domain\'s own nodes (tide, svc.tide, a namespace with services) with no records', () => {
    for (const name of ['tide', 'svc.tide', 'shop.svc.tide']) assert.equal(rcodeOf(answer(name)), 'NOERROR', name);
  });

  it('tells the cluster domain from names to forward', () => {
    assert.equal(inClusterDomain('web.default.svc.tide.'), true);
    assert.equal(inClusterDomain('TIDE'), true);
    assert.equal(inClusterDomain('example.test'), false);
    assert.equal(inClusterDomain('notide'), false);
  });

  it('refuses a query with no question as a format error', () => {
    const empty = dnsPacket.decode(dnsPacket.encode({ type: 'query', id: 1, questions: [] }));
    assert.equal(rcodeOf(dnsPacket.decode(dnsPacket.encode(answerClusterQuery(empty, records)))), 'FORMERR');
    assert.equal(RCODE.NXDOMAIN, 3);
  });
});
