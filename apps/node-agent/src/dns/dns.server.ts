/**
 * A node's DNS server for its containers, on UDP and TCP: names of the cluster domain are answered
 * from the services the control plane pushed (cluster.dns.ts), every other query is relayed as it
 * came to the host's resolvers (the first that answers within 2 s), over the transport it came on.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { ServiceAddress } from '@tide/api';
import { RCODE, ServiceRecords, answerClusterQuery, errorAnswer, inClusterDomain, serviceRecords } from './cluster.dns';
import { Upstream } from './resolv.conf';

const UPSTREAM_TIMEOUT_MS = 2000;
/** A TCP client that sends nothing for this long is closed (RFC 7766 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/**
 * Forwarded queries waiting for an upstream at once (each holds a socket for up to 2 s per
 * upstream); past it a query is refused at once: a container flooding names outside the cluster
 * must not exhaust the agent's file descriptors.
 */
export const MAX_FORWARDS_IN_FLIGHT = 256;

export interface DnsServerOptions {
  upstreams: Upstream[];
  log: (line: string) => void;
  /** Overrides `CLUSTER_DOMAIN` (tests). */
  domain?: string;
}

export class NodeDns {
  private records: ServiceRecords = new Map();
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly clients = new Set<net.Socket>();
  private where = '';
  private forwarding = 0;

  constructor(private readonly options: DnsServerOptions) {}

  setServices(services: ServiceAddress[]): void {
    this.records = serviceRecords(services, this.options.domain);
  }

  /** Where it listens ("address:port"), '' when not. */
  address(): string {
    return this.where;
  }

  /** Listens on address:port (UDP and TCP); a second call moves it. */
  async listen(address: string, port = 53): Promise<void> {
    if (this.where === `${address}:${port}`) return;
    await this.close();
    const udp = dgram.createSocket('udp4');
    udp.on('message', (message, peer) => void this.onDatagram(message, peer));
    udp.on('error', (error) => this.options.log(`dns: UDP error: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer((socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, address, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((error: Error) => {
      udp.close();
      throw error;
    });
    this.udp = udp;
    this.tcp = tcp;
    this.where = `${address}:${port}`;
  }

  async close(): Promise<void> {
    this.where = '';
    this.udp?.close();
    this.udp = undefined;
    for (const socket of this.clients) socket.destroy();
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** The answer to one query (its wire bytes), whichever way it came. */
  async answer(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      // Unreadable: answer FORMERR when at least the id can be read, as servers do.
      return message.length >= 2 ? dnsPacket.encode(errorAnswer({ id: message.readUInt16BE(0), questions: [], flags: 0 }, RCODE.FORMERR)) : undefined;
    }
    if (query.type !== 'query') return undefined;
    const name = query.questions?.[0]?.name;
    if (name !== undefined && inClusterDomain(name, this.options.domain)) return dnsPacket.encode(answerClusterQuery(query, this.records, this.options.domain));
    if (this.options.upstreams.length === 0) return dnsPacket.encode(errorAnswer(query, RCODE.SERVFAIL));
    if (this.forwarding >= MAX_FORWARDS_IN_FLIGHT) return dnsPacket.encode(errorAnswer(query, RCODE.REFUSED));
    this.forwarding++;
    try {
      for (const upstream of this.options.upstreams) {
        const relayed = await (transport === 'udp' ? relayUdp(message, upstream) : relayTcp(message, upstream)).catch(() => undefined);
        if (relayed) return relayed;
      }
      return dnsPacket.encode(errorAnswer(query, RCODE.SERVFAIL));
    } finally {
      this.forwarding--;
    }
  }

  private async onDatagram(message: Buffer, peer: dgram.RemoteInfo): Promise<void> {
    const answer = await this.answer(message, 'udp');
    if (answer) this.udp?.send(answer, peer.port, peer.address);
  }

  /** RFC 1035 4.2.2: each message is preceded by its length (2 bytes); several may come on one connection. */
  private onConnection(socket: net.Socket): void {
    this.clients.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        void this.answer(Buffer.from(message), 'tcp').then((answer) => {
          if (!answer || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(answer.length);
          socket.write(Buffer.concat([length, answer]));
        });
      }
    });
  }
}

function relayUdp(message: Buffer, upstream: Upstream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
    const id = message.readUInt16BE(0);
    const timer = setTimeout(() => finish(new Error('timeout')), UPSTREAM_TIMEOUT_MS);
    const finish = (error?: Error, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (answer) resolve(answer);
      else reject(error);
    };
    socket.on('error', (error) => finish(error));
    // Only the answer to this query, from that server (an off-path guess would need the port too).
    socket.on('message', (answer, peer) => {
      if (peer.address === upstream.host && answer.length >= 2 && answer.readUInt16BE(0) === id) finish(undefined, answer);
    });
    socket.send(message, upstream.port, upstream.host);
  });
}

function relayTcp(message: Buffer, upstream: Upstream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('timeout')), UPSTREAM_TIMEOUT_MS);
    const finish = (error?: Error, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (answer) resolve(answer);
      else reject(error ?? new Error('closed'));
    };
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish());
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) finish(undefined, buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
    });
  });
}
