import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterFence, FenceState, desiredSetVerdict, registrationVerdict } from './cluster.fence';

const known: FenceState = { clusterId: 'a', revision: 40 };
const fresh: FenceState = { revision: 0 };
const set = (clusterId: string | undefined, revision: number, replicas = 0) => ({ revision, replicas: new Array(replicas).fill({}), ...(clusterId ? { clusterId } : {}) });

describe('cluster fence: desired sets', () => {
  const cases: Array<[string, FenceState, ReturnType<typeof set>, boolean]> = [
    ['its cluster, a newer revision', known, set('a', 41, 2), true],
    ['its cluster, the same revision (another control plane at the same point)', known, set('a', 40), true],
    ['its cluster, empty and newer: honoured (the service was deleted)', known, set('a', 45), true],
    ['its cluster, older (a lagging control plane or an old backup)', known, set('a', 39, 3), false],
    ['its cluster, empty and older', known, set('a', 1), false],
    ['another cluster (a wiped store), empty', known, set('b', 1000), false],
    ['another cluster, not empty', known, set('b', 1000, 1), false],
    ['no identity named', known, set(undefined, 1000, 1), false],
    ['a node that has not registered yet', fresh, set('a', 5), false],
  ];
  for (const [what, state, desired, applied] of cases) {
    it(`${applied ? 'applies' : 'refuses'} ${what}`, () => assert.equal(desiredSetVerdict(state, desired).ok, applied));
  }
});

describe('cluster fence: registrations', () => {
  it('takes the first identity, then only that one', () => {
    assert.equal(registrationVerdict(fresh, 'a').ok, true);
    assert.equal(registrationVerdict(known, 'a').ok, true);
    const other = registrationVerdict(known, 'b');
    assert.ok(!other.ok && other.reason.includes('holds cluster b, this node belongs to cluster a'));
    assert.equal(registrationVerdict(fresh, undefined).ok, false);
  });
});

describe('cluster fence: its file', () => {
  const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tide-fence-')), 'cluster.json');

  it('keeps the identity and the revision across restarts, and starts afresh for a node of another CA', () => {
    const file = tmp();
    const fence = new ClusterFence(file, 'sha256:ca1');
    assert.equal(fence.registered('a').ok, true);
    assert.equal(fence.admit(set('a', 40, 1)).ok, true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const restarted = new ClusterFence(file, 'sha256:ca1');
    assert.deepEqual(restarted.current, { clusterId: 'a', revision: 40, ca: 'sha256:ca1' });
    assert.equal(restarted.admit(set('a', 39)).ok, false);
    assert.equal(restarted.registered('b').ok, false, 'a refused registration changes nothing');
    assert.equal(new ClusterFence(file, 'sha256:ca1').current.clusterId, 'a');
    const logs: string[] = [];
    const rejoined = new ClusterFence(file, 'sha256:ca2', (line) => logs.push(line));
    assert.deepEqual(rejoined.current, { revision: 0 });
    assert.ok(logs[0].includes('another cluster CA'));
  });

  it('goes on fenced in memory when the disk is full, and its file stays the last good one', () => {
    const file = tmp();
    const logs: string[] = [];
    const fence = new ClusterFence(file, 'sha256:ca1', (line) => logs.push(line));
    fence.registered('a');
    fence.admit(set('a', 40, 1));
    fs.symlinkSync('/dev/full', `${file}.tmp`); // every write of the next save: ENOSPC
    assert.equal(fence.admit(set('a', 41, 1)).ok, true, 'the set is applied');
    assert.equal(fence.admit(set('a', 40, 1)).ok, false, 'and the fence holds at 41 in memory');
    assert.match(logs.join('\n'), /the disk is full/);
    assert.deepEqual(new ClusterFence(file, 'sha256:ca1').current, { clusterId: 'a', revision: 40, ca: 'sha256:ca1' }, 'the file is whole');
  });

  it('refuses to start from a file it cannot read, naming it', () => {
    const file = tmp();
    fs.writeFileSync(file, '{"clusterId": 7}');
    assert.throws(() => new ClusterFence(file, 'sha256:ca1'), (error: Error) => error.message.startsWith(file) && error.message.includes('"revision": number'));
    fs.writeFileSync(file, 'not json');
    assert.throws(() => new ClusterFence(file, 'sha256:ca1'), /not JSON/);
  });
});
