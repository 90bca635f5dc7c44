/**
 * The chaos scenarios by name, in the order `npm run bench -- chaos` runs them. One file per
 * scenario (`<name>.scenario.ts`, a ChaosScenario): to add one, write its file and add it here.
 */
import { agentKill } from './agent-kill.scenario';
import { diskFull } from './disk-full.scenario';
import { etcdMemberKill } from './etcd-member-kill.scenario';
import { etcdNospace } from './etcd-nospace.scenario';
import { etcdOutage } from './etcd-outage.scenario';
import { leaderKill } from './leader-kill.scenario';
import { logFlood } from './log-flood.scenario';
import type { ChaosScenario } from './scenario';
import { wipedControlPlane } from './wiped-control-plane.scenario';

export const SCENARIOS: ChaosScenario[] = [
  agentKill,
  leaderKill,
  etcdMemberKill,
  etcdOutage,
  etcdNospace,
  wipedControlPlane,
  diskFull,
  logFlood,
];
