import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { NodeUsageReport, UsageReportAck } from '@tide/api';
import { UsageCache } from './usage.cache';
import { PeerLink, UsageForwarder, UsagePeer } from './usage.forwarder';

const STARTED = '2024-05-01T10:00:00.000Z';

function full(node: string, atMs: number, cpu: number): NodeUsageReport {
  return {
    nodeName: node, timestampMs: atMs, services: [],
    replicas: [{ namespace: 'default', name: `${node}-web`, cpuUsageSeconds: cpu, memoryWorkingSetBytes: 100, memoryUsageBytes: 200, startedAt: STARTED }],
  };
}

function delta(node: string, atMs: number, cpu: number): NodeUsageReport {
  return { ...full(node, atMs, cpu), delta: true, gone: [] };
}

/** How a call reads in the tests: node@time, "full" or "delta". */
const seen = (r: NodeUsageReport) => `${r.nodeName}@${r.timestampMs} ${r.delta ? 'delta' : 'full'}`;

/**
 * A peer whose calls the test answers one at a time: each call waits in `calls` until `answer()`.
 * By default it records into its own UsageCache and answers as that cache does.
 */
class FakePeer implements PeerLink {
  readonly cache = new UsageCache({ now: () => 0 });
  readonly calls: Array<{ report: NodeUsageReport; done: (ack: UsageReportAck | Error) => void }> = [];
  readonly sent: string[] = [];
  closed = false;

  forward(report: NodeUsageReport): Promise<UsageReportAck> {
    this.sent.push(seen(report));
    return new Promise((resolve, reject) => this.calls.push({ report, done: (ack) => (ack instanceof Error ? reject(ack) : resolve(ack)) }));
  }

  /** Answers the oldest waiting call (as its cache would, or with `ack`), then lets the forwarder go on. */
  async answer(ack?: UsageReportAck | Error): Promise<void> {
    const call = this.calls.shift();
    assert.ok(call, 'a call is waiting');
    call.done(ack ?? this.cache.record(call.report));
    await settle();
  }

  close(): void {
    this.closed = true;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A forwarder over `local` (the cache every forwarded report was recorded in first) with fake peers. */
function setup(options: { maxBacklog?: number; peers?: string[]; sleep?: (ms: number) => Promise<void> } = {}) {
  const local = new UsageCache({ now: () => 0 });
  const peers = new Map<string, FakePeer>();
  const errors: string[] = [];
  const dropped: string[] = [];
  const forwarder = new UsageForwarder({
    held: local, connect: (peer: UsagePeer) => {
      const made = new FakePeer();
      peers.set(peer.id, made);
      return made;
    },
    onError: (peer, error) => errors.push(`${peer}: ${error.message}`), onDropped: (peer) => dropped.push(peer),
    retryMs: 1, ...(options.maxBacklog ? { maxBacklog: options.maxBacklog } : {}), ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  forwarder.setPeers((options.peers ?? ['b']).map((id) => ({ id, address: `${id}:7071` })));
  /** What an agent's report does on this instance: recorded, then forwarded when taken. */
  const agentReports = (report: NodeUsageReport) => {
    if (local.record(report).holdsFullSet) forwarder.forward(report);
  };
  return { local, peers, forwarder, errors, dropped, agentReports, peer: (id = 'b') => peers.get(id)! };
}

describe('usage forwarder', () => {
  it('sends each peer the reports in order, one call at a time, deltas on the set the peer holds', async () => {
    const { agentReports, peer, peers } = setup({ peers: ['b', 'c'] });
    agentReports(full('node-1', 1000, 1));
    agentReports(delta('node-1', 2000, 2));
    agentReports(full('node-2', 2100, 5));
    agentReports(delta('node-1', 3000, 3));
    assert.deepEqual(peer().sent, ['node-1@1000 full'], 'one call in flight');
    for (let i = 0; i < 4; i++) await peer().answer();
    assert.deepEqual(peer().sent, ['node-1@1000 full', 'node-1@2000 delta', 'node-2@2100 full', 'node-1@3000 delta']);
    assert.deepEqual(peer().cache.replicaUsage().map((u) => [u.name, u.cpuCores]), [['node-1-web', 1], ['node-2-web', null]]);
    assert.deepEqual(peers.get('c')!.sent, ['node-1@1000 full'], 'a slow peer holds back only its own backlog');
  });

  it('sends the node\'s full set after the peer refused a delta, then deltas again', async () => {
    const { agentReports, peer } = setup();
    agentReports(full('node-1', 1000, 1));
    await peer().answer();
    agentReports(delta('node-1', 2000, 2));
    await peer().answer({ holdsFullSet: false }); // the peer restarted meanwhile: it has no set for node-1
    agentReports(delta('node-1', 3000, 3));
    await peer().answer();
    agentReports(delta('node-1', 4000, 4));
    await peer().answer();
    assert.deepEqual(peer().sent, ['node-1@1000 full', 'node-1@2000 delta', 'node-1@3000 full', 'node-1@4000 delta'],
      'the report after the refusal is rendered from this instance\'s set, as of the agent\'s 3 s report');
    assert.equal(peer().cache.cpuCores('default', 'node-1-web', 1000), 1);
  });

  it('sends a new peer the full set of a node whose deltas it never had', async () => {
    const { agentReports, forwarder, peer, peers } = setup();
    agentReports(full('node-1', 1000, 1));
    await peer().answer();
    forwarder.setPeers([{ id: 'b', address: 'b:7071' }, { id: 'c', address: 'c:7071' }]);
    agentReports(delta('node-1', 2000, 2));
    assert.deepEqual(peers.get('c')!.sent, ['node-1@2000 full']);
    await peers.get('c')!.answer();
    forwarder.setPeers([{ id: 'c', address: 'c:7071' }]);
    assert.equal(peer().closed, true, 'a peer gone from the directory is closed');
    assert.deepEqual(forwarder.peerIds(), ['c']);
  });

  it('drops the oldest report past the backlog, and the dropped node\'s next report goes full', async () => {
    const { agentReports, peer, dropped } = setup({ maxBacklog: 2 });
    agentReports(full('node-1', 1000, 1));
    agentReports(full('node-2', 1000, 1));
    await peer().answer(); // node-1 held
    await peer().answer(); // node-2 held
    agentReports(delta('node-1', 2000, 2)); // in flight
    agentReports(delta('node-1', 3000, 3));
    agentReports(delta('node-2', 3000, 3));
    agentReports(delta('node-2', 4000, 4)); // the backlog holds two: node-1@3000 is dropped
    assert.deepEqual(dropped, ['b']);
    await peer().answer(); // node-1@2000 taken, but the peer is now behind on node-1
    await peer().answer();
    await peer().answer();
    agentReports(delta('node-1', 5000, 5));
    await peer().answer();
    assert.deepEqual(peer().sent.slice(2), ['node-1@2000 delta', 'node-2@3000 delta', 'node-2@4000 delta', 'node-1@5000 full']);
    assert.equal(peer().cache.fullReport('node-1')?.replicas[0].cpuUsageSeconds, 5);
  });

  it('after a failed call pauses, forgets what the peer held, and then sends each node\'s set in full once', async () => {
    // The pause after the failure ends when the test says so, not after a time the machine may overrun.
    let endPause = () => {};
    const paused = new Promise<void>((resolve) => (endPause = resolve));
    const { agentReports, peer, errors } = setup({ sleep: () => paused });
    agentReports(full('node-1', 1000, 1));
    await peer().answer();
    agentReports(delta('node-1', 2000, 2));
    agentReports(delta('node-1', 3000, 3));
    await peer().answer(new Error('14 UNAVAILABLE: No connection established'));
    assert.deepEqual(errors, ['b: 14 UNAVAILABLE: No connection established']);
    agentReports(delta('node-1', 4000, 4));
    agentReports(delta('node-1', 5000, 5));
    assert.equal(peer().calls.length, 0, 'nothing sent while paused');
    endPause();
    while (peer().calls.length === 0) await settle();
    await peer().answer();
    assert.deepEqual(peer().sent, ['node-1@1000 full', 'node-1@2000 delta', 'node-1@5000 full'],
      'the 3 s report went with the failed backlog; the 4 s one is covered by the full set as of 5 s');
    assert.equal(peer().calls.length, 0);
  });

});
