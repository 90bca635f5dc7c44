import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { IsolationFence, Peer, isolationVerdict, tcpAnswers } from './isolation.fence';

describe('isolation fence: the verdict', () => {
  it('fences only when the lease ran out and no peer answers', () => {
    const lease = 5000;
    const table: [string, Parameters<typeof isolationVerdict>[0], string][] = [
      ['never registered', { leaseMs: lease, peers: 2 }, 'connected'],
      ['a one-node cluster: nowhere for replicas to go', { sinceAckMs: 60_000, leaseMs: lease, peers: 0 }, 'connected'],
      ['heartbeats flowing (last ack 1 s ago)', { sinceAckMs: 1000, leaseMs: lease, peers: 2 }, 'connected'],
      ['2 heartbeats missed (2.5 s): ask the peers', { sinceAckMs: 2500, leaseMs: lease, peers: 2 }, 'probe'],
      ['peers silent, but the lease still runs (4.9 s)', { sinceAckMs: 4900, leaseMs: lease, peers: 2, peersReachable: false }, 'probe'],
      ['lease run out, no probe answered yet', { sinceAckMs: 5000, leaseMs: lease, peers: 2 }, 'probe'],
      ['lease run out, peers answer: the control plane is away', { sinceAckMs: 5000, leaseMs: lease, peers: 2, peersReachable: true }, 'wait'],
      ['lease run out, no peer answers: cut off', { sinceAckMs: 5000, leaseMs: lease, peers: 2, peersReachable: false }, 'fence'],
    ];
    for (const [why, input, expected] of table) assert.equal(isolationVerdict(input), expected, why);
  });
});

describe('isolation fence: the loop', () => {
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const peers: Peer[] = [{ address: '198.18.0.2', port: 1 }, { address: '198.18.0.3', port: 1 }];

  function harness(answer: (peer: Peer) => boolean) {
    let now = 0;
    let fenced = 0;
    const probed: string[] = [];
    const fence = new IsolationFence({
      peers: () => peers, fence: () => fenced++, log: () => undefined, now: () => now,
      probe: async (peer) => {
        probed.push(peer.address);
        return answer(peer);
      },
    });
    return { fence, probed, fenced: () => fenced, at: (ms: number) => (now = ms) };
  }

  it('stops the replicas once when the lease runs out and the peers are silent, and lets them run again once acknowledged', async () => {
    const h = harness(() => false);
    h.fence.acknowledged(0, 5);
    h.at(1000);
    assert.equal(h.fence.tick(), 'connected');
    assert.deepEqual(h.probed, []);
    h.at(2600);
    assert.equal(h.fence.tick(), 'probe');
    await flush();
    assert.deepEqual(h.probed, ['198.18.0.2', '198.18.0.3']);
    h.at(5000);
    assert.equal(h.fence.tick(), 'fence');
    h.at(6000);
    h.fence.tick();
    assert.equal(h.fenced(), 1, 'once, not at every tick');
    h.fence.acknowledged(6500);
    h.at(7000);
    assert.equal(h.fence.tick(), 'connected');
  });

  it('keeps the replicas when one peer answers (the control plane is the one away)', async () => {
    const h = harness((peer) => peer.address === '198.18.0.3');
    h.fence.acknowledged(0, 5);
    h.at(3000);
    h.fence.tick();
    await flush();
    h.at(30_000);
    assert.equal(h.fence.tick(), 'wait');
    assert.equal(h.fenced(), 0);
  });

  it('drops a probe round that a heartbeat acknowledgement overtook', async () => {
    const h = harness(() => false);
    h.fence.acknowledged(0, 5);
    h.at(3000);
    h.fence.tick();
    h.fence.acknowledged(2900);
    await flush();
    h.at(7900);
    assert.equal(h.fence.tick(), 'probe', 'the round of the old outage does not count for the new one');
    assert.equal(h.fenced(), 0);
  });
});

describe('isolation fence: tcpAnswers', () => {
  it('counts an accept and a refusal as an answer', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    assert.equal(await tcpAnswers({ address: '127.0.0.1', port }), true, 'accepted');
    await new Promise((resolve) => server.close(resolve));
    assert.equal(await tcpAnswers({ address: '127.0.0.1', port }), true, 'refused: the host answered');
  });
});
