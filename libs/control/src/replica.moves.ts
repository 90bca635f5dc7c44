/**
 * The move primitive shared by drain, consolidation and rolling updates: a replacement
 * replica carries `spec.replaces` naming the replica it stands in for. Until the replacement is
 * ready the two count as one replica of the service; once it is ready the old one is terminated
 * with its grace period (service.plan.ts). Everything lives in the Replica objects in etcd, so a
 * control plane that restarts mid-move simply carries on.
 */
import { Replica } from '@tide/api';

/** An old replica and the replacement that will take its place once ready. */
export interface Move {
  old: Replica;
  replacement: Replica;
}

/**
 * Pairs each replacement with the live replica it replaces. A replica already standing in for a
 * live one is never itself paired as an old one (no chains), and each old replica has at most one
 * replacement; anything else counts on its own. `live`: one service's replicas, none terminating or lost.
 */
export function pairMoves(live: readonly Replica[]): { moves: Move[]; singles: Replica[] } {
  // Only a replica naming another can be a replacement: with none (most passes), every one is single.
  const replacements = live.filter((r) => r.spec.replaces);
  if (replacements.length === 0) return { moves: [], singles: [...live] };
  const byName = new Map(live.map((r) => [r.metadata.name, r]));
  const isSurge = (r: Replica) => r.spec.replaces !== undefined && byName.has(r.spec.replaces.replica);
  const taken = new Set<string>();
  const moves: Move[] = [];
  for (const replacement of replacements.sort(byCreation)) {
    const old = byName.get(replacement.spec.replaces!.replica);
    if (!old || old === replacement || isSurge(old) || taken.has(old.metadata.name) || taken.has(replacement.metadata.name)) continue;
    taken.add(old.metadata.name).add(replacement.metadata.name);
    moves.push({ old, replacement });
  }
  return { moves, singles: live.filter((r) => !taken.has(r.metadata.name)) };
}

function byCreation(a: Replica, b: Replica): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name);
}
