import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { MAX_FORWARDS_IN_FLIGHT, NodeDns } from './dns.server';

/** dns-packet decodes the response code, but its types do not declare it. */
const rcodeOf = (packet: dnsPacket.DecodedPacket): string => (packet as unknown as { rcode: string }).rcode;

/** Loopback addresses of their own: the node's DNS and a fake upstream (no outside network). */
const NODE = '127.0.0.71';
const UPSTREAM = '127.0.0.72';

/** An upstream resolver that knows one name, on UDP and TCP, counting the queries it got. */
class FakeUpstream {
  readonly udp = dgram.createSocket('udp4');
  readonly tcp = net.createServer((socket) => socket.on('data', (chunk) => {
    const reply = this.reply(chunk.subarray(2));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(reply.length);
    socket.end(Buffer.concat([length, reply]));
  }));
  queries: string[] = [];

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.udp.bind(0, UPSTREAM, resolve));
    const port = this.udp.address().port;
    await new Promise<void>((resolve) => this.tcp.listen(port, UPSTREAM, resolve));
    this.udp.on('message', (message, peer) => this.udp.send(this.reply(message), peer.port, peer.address));
    return port;
  }

  private reply(message: Buffer): Buffer {
    const query = dnsPacket.decode(message);
    const name = query.questions![0].name;
    this.queries.push(name);
    const known = name === 'outside.example';
    return dnsPacket.encode({
      type: 'response', id: query.id, questions: query.questions, flags: known ? 0 : 3,
      answers: known ? [{ type: 'A', name, ttl: 60, data: '198.18.0.10' }] : [],
    });
  }

  close(): void {
    this.udp.close();
    this.tcp.close();
  }
}

async function overTcp(port: number, name: string): Promise<dnsPacket.DecodedPacket> {
  const socket = net.connect(port, NODE);
  const query = dnsPacket.encode({ type: 'query', id: 77, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
  const length = Buffer.alloc(2);
  length.writeUInt16BE(query.length);
  socket.write(Buffer.concat([length, query]));
  let buffered = Buffer.alloc(0);
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) break;
  }
  socket.destroy();
  return dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
}

describe('node DNS server', () => {
  const upstream = new FakeUpstream();
  let dns: NodeDns;
  let port: number;
  const resolver = new Resolver({ timeout: 3000, tries: 1 });

  before(async () => {
    const upstreamPort = await upstream.start();
    dns = new NodeDns({ upstreams: [{ host: UPSTREAM, port: upstreamPort }], log: () => undefined });
    dns.setServices([{ namespace: 'default', service: 'web', ip: '100.96.0.1', ports: [] }]);
    // A free port for UDP and TCP both: the kernel picks one for a probe socket.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, NODE, resolve));
    port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await dns.listen(NODE, port);
    resolver.setServers([`${NODE}:${port}`]);
  });

  after(async () => {
    await dns.close();
    upstream.close();
  });

  it('answers a service name over UDP without asking upstream', async () => {
    assert.deepEqual(await resolver.resolve4('web.default.svc.tide'), ['100.96.0.1']);
    assert.deepEqual(upstream.queries, []);
  });

  it('says NXDOMAIN for an unknown name of the cluster domain', async () => {
    await assert.rejects(resolver.resolve4('nope.default.svc.tide'), (error: NodeJS.ErrnoException) => error.code === 'ENOTFOUND');
    assert.deepEqual(upstream.queries, []);
  });

  it('forwards other names to the upstream, and passes on its answers and its NXDOMAIN', async () => {
    assert.deepEqual(await resolver.resolve4('outside.example'), ['198.18.0.10']);
    await assert.rejects(resolver.resolve4('missing.example'), (error: NodeJS.ErrnoException) => error.code === 'ENOTFOUND');
    assert.deepEqual(upstream.queries, ['outside.example', 'missing.example']);
  });

  it('answers over TCP too, service names and forwarded ones', async () => {
    const own = await overTcp(port, 'web.default.svc.tide');
    assert.equal(own.id, 77);
    assert.deepEqual(own.answers?.map((a) => (a as dnsPacket.StringAnswer).data), ['100.96.0.1']);
    const forwarded = await overTcp(port, 'outside.example');
    assert.deepEqual(forwarded.answers?.map((a) => (a as dnsPacket.StringAnswer).data), ['198.18.0.10']);
  });

  it('follows the services it is given: a deleted service stops resolving', async () => {
    dns.setServices([]);
    await assert.rejects(resolver.resolve4('web.default.svc.tide'), (error: NodeJS.ErrnoException) => error.code === 'ENOTFOUND');
  });

  it('refuses forwards past its limit at once, answering its own names all the same', async () => {
    const silent = dgram.createSocket('udp4'); // an upstream that never answers: every forward waits
    await new Promise<void>((resolve) => silent.bind(0, UPSTREAM, resolve));
    const busy = new NodeDns({ upstreams: [{ host: UPSTREAM, port: silent.address().port }], log: () => undefined });
    busy.setServices([{ namespace: 'default', service: 'web', ip: '100.96.0.1', ports: [] }]);
    const ask = (name: string) => busy.answer(dnsPacket.encode({ type: 'query', id: 6, questions: [{ type: 'A', name }] }), 'udp');
    const waiting = Array.from({ length: MAX_FORWARDS_IN_FLIGHT }, () => ask('outside.example'));
    assert.equal(rcodeOf(dnsPacket.decode((await ask('outside.example'))!)), 'REFUSED');
    assert.equal(rcodeOf(dnsPacket.decode((await ask('web.default.svc.tide'))!)), 'NOERROR');
    assert.ok((await Promise.all(waiting)).every((answer) => rcodeOf(dnsPacket.decode(answer!)) === 'SERVFAIL'), 'the waiting ones time out');
    silent.close();
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const lonely = new NodeDns({ upstreams: [], log: () => undefined });
    const query = dnsPacket.encode({ type: 'query', id: 5, questions: [{ type: 'A', name: 'outside.example' }] });
    assert.equal(rcodeOf(dnsPacket.decode((await lonely.answer(query, 'udp'))!)), 'SERVFAIL');
  });
});
