/**
 * Who may send into the VXLAN overlay: the kernel decapsulates whatever reaches the VXLAN port from
 * any source (its forwarding entries only decide where this node sends), so without a filter anyone
 * who reaches a node's UDP 4789 could inject frames into its container network. These INPUT rules
 * accept the port from the nodes of the node list and drop it from anyone else; each carries the
 * device's tag, and a change of peers rewrites them all (a few rules, on a node joining or leaving).
 */
import { ruleTag } from './bridge.settings';
import { hasTool, run } from './network.command';

const VXLAN_PORT = '4789';

/** The rules, in order, as `iptables -I INPUT` arguments would build them (accepts first, then the drop). */
export function vxlanFilterRules(device: string, peerAddresses: string[]): string[][] {
  const tag = ['-m', 'comment', '--comment', ruleTag(device)];
  const match = ['-p', 'udp', '-m', 'udp', '--dport', VXLAN_PORT];
  return [
    ...[...new Set(peerAddresses)].sort().map((address) => ['-s', `${address}/32`, ...match, ...tag, '-j', 'ACCEPT']),
    [...match, ...tag, '-j', 'DROP'],
  ];
}

async function taggedInputRules(device: string): Promise<string[][]> {
  const listed = await run('iptables', ['-w', '-S', 'INPUT']);
  return listed.split('\n')
    .filter((line) => line.startsWith('-A INPUT ') && line.includes(ruleTag(device)))
    .map((line) => line.replace(/--comment "([^"]*)"/, '--comment $1').split(' ').filter(Boolean).slice(2));
}

/** Makes the device's INPUT rules those of `peerAddresses` (none at all with `undefined`: teardown). */
export async function syncVxlanFilter(device: string, peerAddresses: string[] | undefined): Promise<void> {
  if (!hasTool('iptables')) return;
  const current = await taggedInputRules(device);
  const wanted = peerAddresses === undefined ? [] : vxlanFilterRules(device, peerAddresses);
  if (JSON.stringify(current) === JSON.stringify(wanted)) return;
  for (const rule of current) await run('iptables', ['-w', '-D', 'INPUT', ...rule]);
  // Inserted at the top in reverse, so that they stand in order before anything else in INPUT.
  for (const rule of [...wanted].reverse()) await run('iptables', ['-w', '-I', 'INPUT', '1', ...rule]);
}
