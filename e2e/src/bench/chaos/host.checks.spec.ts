import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { duplicateIds, leftovers, liveContainers } from './host.checks';

/** This process's start time as the runtime records it (field 22 of /proc/PID/stat). */
function startTime(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('host checks over a node state dir', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-chaos-spec-'));
  after(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  const container = (node: string, id: string, state?: object) => {
    const dir = path.join(stateDir, 'nodes', node, 'containers', id);
    fs.mkdirSync(dir, { recursive: true });
    if (state) fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
  };
  const address = (node: string, ip: string, id: string) => {
    const dir = path.join(stateDir, 'nodes', node, 'network', 'addresses');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, ip), id);
  };

  it('counts a container as live only while its recorded process runs, and a replica live on two nodes as a duplicate', () => {
    const me = { pid: process.pid, pidStartTime: startTime(process.pid) };
    container('node-1', 'default.chx-a', me);
    container('node-2', 'default.chx-a', me);
    container('node-2', 'default.chx-b', { ...me, pidStartTime: me.pidStartTime + 1 }); // the pid was reused
    container('node-1', 'default.chx-c'); // no state file: a start cut short
    const live = liveContainers(stateDir, ['node-1', 'node-2']);
    assert.deepEqual(live.map((c) => `${c.node}/${c.id}`).sort(), ['node-1/default.chx-a', 'node-2/default.chx-a']);
    assert.deepEqual(duplicateIds(live), ['default.chx-a']);
  });

  it('reports directories and addresses that no replica bound to the node accounts for', () => {
    address('node-1', '100.65.208.5', 'default.chx-a');
    address('node-1', '100.65.208.6', 'default.chx-gone');
    const wanted = new Map([['node-1', new Set(['default.chx-a'])], ['node-2', new Set(['default.chx-b'])]]);
    assert.deepEqual(leftovers(stateDir, wanted, ['default.chx-'], []).sort(), [
      'address 100.65.208.6 of node-1 held by default.chx-gone',
      'directory node-1/containers/default.chx-c',
      'directory node-2/containers/default.chx-a',
    ]);
  });
});
