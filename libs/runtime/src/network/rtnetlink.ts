/**
 * rtnetlink (netlink(7), rtnetlink(7)): the kernel interface `ip` itself speaks, for the few link,
 * address and route changes of a container start. Spoken from the agent's thread, a start's wiring
 * costs a few synchronous system calls instead of a shell, two `ip` and an nsenter (four execs).
 * Messages are built here as bytes (struct layouts of linux/netlink.h, linux/rtnetlink.h,
 * linux/if_link.h, linux/veth.h); each request asks for an acknowledgement, and a refusal becomes a
 * NetworkError naming what was asked and the kernel's reason, as `ip`'s "RTNETLINK answers" did.
 */
import * as fs from 'node:fs';
import { CLONE_NEWNET, Sys, SyscallError } from '@tide/syscall';
import { NetworkError } from './network.command';

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;
const IFLA_IFNAME = 3;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_PID = 19;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const NLA_F_NESTED = 0x8000;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** One attribute (struct rtattr and its payload), padded to 4 bytes. */
export function attribute(type: number, payload: Buffer): Buffer {
  const length = 4 + payload.length;
  const out = Buffer.alloc(align4(length));
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

const nested = (type: number, ...children: Buffer[]) => attribute(type | NLA_F_NESTED, Buffer.concat(children));
const text = (value: string) => Buffer.from(`${value}\0`);
const u32 = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
};
const ipv4 = (address: string) => Buffer.from(address.split('.').map(Number));

/** struct ifinfomsg: family, type, index, flags and the mask of flags to change. */
export function ifinfomsg(index = 0, flags = 0, change = 0): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt8(AF_UNSPEC, 0);
  out.writeInt32LE(index, 4);
  out.writeUInt32LE(flags, 8);
  out.writeUInt32LE(change, 12);
  return out;
}

/** A whole message: struct nlmsghdr, then the body (a fixed struct and attributes). */
export function message(type: number, flags: number, seq: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags | NLM_F_REQUEST, 6);
  header.writeUInt32LE(seq, 8);
  return Buffer.concat([header, payload]);
}

/** RTM_NEWLINK of a veth pair: `hostName` here, up, in `bridgeIndex`; its peer `peerName`, born in the
 *  network namespace of process `peerPid` (as `ip link add H type veth peer name P netns PID`). */
export function vethRequest(seq: number, hostName: string, bridgeIndex: number, peerName: string, peerPid: number): Buffer {
  const peer = Buffer.concat([ifinfomsg(), attribute(IFLA_IFNAME, text(peerName)), attribute(IFLA_NET_NS_PID, u32(peerPid))]);
  return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq,
    ifinfomsg(0, IFF_UP, IFF_UP),
    attribute(IFLA_IFNAME, text(hostName)),
    attribute(IFLA_MASTER, u32(bridgeIndex)),
    nested(IFLA_LINKINFO, attribute(IFLA_INFO_KIND, text('veth')), nested(IFLA_INFO_DATA, attribute(VETH_INFO_PEER, peer))));
}

/** RTM_NEWLINK that sets a link up, by index. */
export function linkUpRequest(seq: number, index: number): Buffer {
  return message(RTM_NEWLINK, NLM_F_ACK, seq, ifinfomsg(index, IFF_UP, IFF_UP));
}

/** RTM_GETLINK of one link by name: the reply carries its index. */
export function linkByNameRequest(seq: number, name: string): Buffer {
  return message(RTM_GETLINK, 0, seq, ifinfomsg(), attribute(IFLA_IFNAME, text(name)));
}

/** RTM_DELLINK by name. */
export function deleteLinkRequest(seq: number, name: string): Buffer {
  return message(RTM_DELLINK, NLM_F_ACK, seq, ifinfomsg(), attribute(IFLA_IFNAME, text(name)));
}

/** RTM_NEWADDR of `address/prefix` on link `index` (struct ifaddrmsg; `ip addr add A/P dev D`). */
export function addressRequest(seq: number, index: number, address: string, prefix: number): Buffer {
  const ifaddrmsg = Buffer.alloc(8);
  ifaddrmsg.writeUInt8(AF_INET, 0);
  ifaddrmsg.writeUInt8(prefix, 1);
  ifaddrmsg.writeUInt32LE(index, 4);
  return message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq, ifaddrmsg,
    attribute(IFA_LOCAL, ipv4(address)), attribute(IFA_ADDRESS, ipv4(address)));
}

/** RTM_NEWROUTE of the default route via `gateway` on link `index` (struct rtmsg; `ip route add default via G dev D`). */
export function defaultRouteRequest(seq: number, index: number, gateway: string): Buffer {
  const rtmsg = Buffer.from([AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0]);
  return message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq, rtmsg,
    attribute(RTA_GATEWAY, ipv4(gateway)), attribute(RTA_OIF, u32(index)));
}

/** The kernel's answer to a request: 0 for an acknowledgement, an errno (positive) for a refusal,
 *  undefined for a message that is not an error (a GETLINK's reply). */
export function answerError(reply: Buffer): number | undefined {
  if (reply.readUInt16LE(4) !== NLMSG_ERROR) return undefined;
  return -reply.readInt32LE(NLMSG_HDRLEN);
}

/** The link index in an RTM_NEWLINK reply (its struct ifinfomsg). */
export function replyLinkIndex(reply: Buffer): number {
  return reply.readInt32LE(NLMSG_HDRLEN + 4);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One rtnetlink socket, in the network namespace it was made in. Requests are answered in order. */
export class RouteNetlink {
  private seq = 0;
  private readonly reply = Buffer.alloc(64 * 1024);

  private constructor(
    private readonly sys: Sys,
    private readonly fd: number,
  ) {}

  /** A socket in the agent's own network namespace. */
  static here(sys: Sys): RouteNetlink {
    return new RouteNetlink(sys, sys.routeNetlinkSocket());
  }

  /**
   * A socket in the network namespace of process `pid`: made by this thread after setns into it,
   * then this thread goes back at once (nothing else runs on it in between; a socket keeps the
   * namespace it was made in). Only the network namespace is entered, which a thread of a
   * multi-threaded process may do.
   */
  static inNetnsOf(sys: Sys, pid: number): RouteNetlink {
    const own = fs.openSync('/proc/thread-self/ns/net', 'r');
    try {
      const target = fs.openSync(`/proc/${pid}/ns/net`, 'r');
      let fd: number;
      try {
        sys.setns(target, CLONE_NEWNET);
        try {
          fd = sys.routeNetlinkSocket();
        } finally {
          sys.setns(own, CLONE_NEWNET);
        }
      } finally {
        fs.closeSync(target);
      }
      return new RouteNetlink(sys, fd);
    } finally {
      fs.closeSync(own);
    }
  }

  /** Sends a request built with `seq` and waits for its answer; a refusal throws, saying `what`. */
  request(what: string, build: (seq: number) => Buffer): Buffer {
    const seq = ++this.seq;
    this.sys.sendDatagram(this.fd, build(seq));
    for (;;) {
      const length = this.sys.receiveDatagram(this.fd, this.reply);
      const reply = Buffer.from(this.reply.subarray(0, length));
      if (reply.readUInt32LE(8) !== seq) continue; // an answer to an earlier request that gave up
      const errno = answerError(reply);
      if (errno === undefined || errno === 0) return reply;
      throw new NetworkError(`${what}: ${new SyscallError('rtnetlink', errno, '').message}`);
    }
  }

  /** The index of the link called `name` here. */
  linkIndex(name: string): number {
    return replyLinkIndex(this.request(`link ${name}`, (seq) => linkByNameRequest(seq, name)));
  }

  close(): void {
    this.sys.close(this.fd);
  }
}
