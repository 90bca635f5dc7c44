/**
 * The MAC address a Linux bridge made by Tide is given when it is made (the container bridge of a
 * node, the LAN of simulated hosts). A bridge whose address was never set takes the lowest address of
 * its ports and changes it when that port leaves; every container or host behind it then keeps
 * sending to the old gateway address, which nobody answers to any more, until its ARP entry expires:
 * answers to the node stopped for tens of seconds after a scale-in removed one veth. Locally
 * administered and unicast (first byte 0x02), derived from the bridge's name so that it never moves.
 */
import { createHash } from 'node:crypto';

export function bridgeMacFor(bridge: string): string {
  const hex = createHash('sha256').update(`mac\0${bridge}`).digest('hex').slice(0, 10);
  return ['02', ...hex.match(/../g)!].join(':');
}
