import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { containerDns, nameserversOf, parseUpstreams } from './resolv.conf';

describe('resolver files', () => {
  it('reads the host\'s name servers in order, loopback ones included (the agent, not the container, asks them)', () => {
    const text = '# generated\nsearch corp.example\nnameserver 127.0.0.53\nnameserver  ::1\nnameserver not-an-ip\noptions edns0\n';
    assert.deepEqual(nameserversOf(text), [{ host: '127.0.0.53', port: 53 }, { host: '::1', port: 53 }]);
  });

  it('parses --dns-upstream entries with and without ports', () => {
    assert.deepEqual(parseUpstreams('127.0.0.81:5353, 127.0.0.82,[::1]:53'), [
      { host: '127.0.0.81', port: 5353 }, { host: '127.0.0.82', port: 53 }, { host: '::1', port: 53 },
    ]);
    assert.throws(() => parseUpstreams('127.0.0.1:99999'), /"127.0.0.1:99999" is not IP/);
  });

  it('tells a container of a namespace the node\'s DNS and the search list that makes NAME and NAME.NAMESPACE resolve', () => {
    assert.deepEqual(containerDns('100.64.3.1', 'shop'), {
      nameservers: ['100.64.3.1'], search: ['shop.svc.tide', 'svc.tide', 'tide'], options: ['ndots:5'],
    });
  });
});
