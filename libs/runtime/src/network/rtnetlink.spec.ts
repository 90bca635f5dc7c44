/**
 * rtnetlink: the bytes of a request, and a container's wiring against the real kernel in two
 * throwaway network namespaces (a "node" and a "container", each held by a sleeping process), so
 * that nothing of the machine's own network is touched. The kernel part needs root.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { waitFor } from '@tide/api/testing';
import { linuxSys } from '@tide/syscall';
import { NetworkError, run } from './network.command';
import { RouteNetlink, addressRequest, attribute, defaultRouteRequest, linkUpRequest, vethRequest } from './rtnetlink';

describe('rtnetlink messages', () => {
  it('pads attributes to 4 bytes and counts the header in their length', () => {
    assert.deepEqual([...attribute(3, Buffer.from('eth0\0'))], [9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0]);
  });

  it('builds a request whose header holds its whole length, its type, flags and sequence number', () => {
    const up = linkUpRequest(7, 2);
    assert.equal(up.readUInt32LE(0), up.length);
    assert.equal(up.length, 16 + 16); // nlmsghdr + ifinfomsg
    assert.equal(up.readUInt16LE(4), 16); // RTM_NEWLINK
    assert.equal(up.readUInt16LE(6), 0x1 | 0x4); // NLM_F_REQUEST | NLM_F_ACK
    assert.equal(up.readUInt32LE(8), 7);
    assert.equal(up.readInt32LE(16 + 4), 2, 'the link index');
    assert.equal(up.readUInt32LE(16 + 8), 1, 'IFF_UP set');
    assert.equal(up.readUInt32LE(16 + 12), 1, 'IFF_UP in the change mask');
  });

  it('writes addresses in network order', () => {
    const request = addressRequest(1, 2, '100.64.253.2', 24);
    assert.equal(request.readUInt8(16 + 1), 24, 'prefix length');
    assert.ok(request.includes(Buffer.from([100, 64, 253, 2])));
    assert.ok(defaultRouteRequest(1, 2, '100.64.253.1').includes(Buffer.from([100, 64, 253, 1])));
  });
});

const canRun = process.getuid?.() === 0;

describe('rtnetlink against the kernel', { skip: !canRun && 'needs root (network namespaces)', timeout: 60_000 }, () => {
  const holders: ChildProcess[] = [];
  let node: number;
  let container: number;
  const ownNetns = fs.readlinkSync('/proc/self/ns/net');

  /** A process in a network namespace of its own, once it has entered it. */
  async function netnsHolder(): Promise<number> {
    const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
    holders.push(child);
    await waitFor(() => fs.readlinkSync(`/proc/${child.pid}/ns/net`) !== ownNetns, { what: 'a network namespace of its own', timeoutMs: 10_000 });
    return child.pid!;
  }
  const inNetns = (pid: number, args: string[]) => run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', ...args]);

  before(async () => {
    [node, container] = [await netnsHolder(), await netnsHolder()];
    await inNetns(node, ['link', 'add', 'tide-br-test', 'type', 'bridge']);
  });
  after(() => {
    for (const child of holders) child.kill('SIGKILL'); // their namespaces, and all in them, go with them
  });

  it('makes a veth whose host end is up in the bridge and whose peer is born in the container as eth0, then its address and route', async () => {
    const sys = linuxSys();
    const host = RouteNetlink.inNetnsOf(sys, node);
    const inside = RouteNetlink.inNetnsOf(sys, container);
    try {
      assert.equal(fs.readlinkSync('/proc/thread-self/ns/net'), ownNetns, 'this thread is back in its own namespace');
      const bridge = host.linkIndex('tide-br-test');
      host.request('veth', (seq) => vethRequest(seq, 'tv-test', bridge, 'eth0', container));
      inside.request('lo up', (seq) => linkUpRequest(seq, 1));
      const eth0 = inside.linkIndex('eth0');
      inside.request('address', (seq) => addressRequest(seq, eth0, '100.64.253.2', 24));
      inside.request('eth0 up', (seq) => linkUpRequest(seq, eth0));
      inside.request('route', (seq) => defaultRouteRequest(seq, eth0, '100.64.253.1'));

      const [hostEnd] = JSON.parse(await inNetns(node, ['-j', 'link', 'show', 'tv-test'])) as { master?: string; flags: string[] }[];
      assert.equal(hostEnd.master, 'tide-br-test');
      assert.ok(hostEnd.flags.includes('UP'));
      assert.match(await inNetns(container, ['-o', 'addr', 'show', 'eth0']), /inet 100\.64\.253\.2\/24/);
      assert.match(await inNetns(container, ['-o', 'link', 'show', 'lo']), /<LOOPBACK,UP/);
      assert.match(await inNetns(container, ['route', 'show', 'default']), /default via 100\.64\.253\.1 dev eth0/);
      assert.throws(() => host.request('link add tv-test again', (seq) => vethRequest(seq, 'tv-test', bridge, 'eth1', container)),
        (e: unknown) => e instanceof NetworkError && /^link add tv-test again: rtnetlink: EEXIST/.test(e.message));
      assert.throws(() => inside.linkIndex('eth9'), (e: unknown) => e instanceof NetworkError && /link eth9: rtnetlink: ENODEV/.test(e.message));
    } finally {
      host.close();
      inside.close();
    }
  });
});
