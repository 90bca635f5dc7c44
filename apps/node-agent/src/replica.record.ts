/** The agent's memory of one replica: what it should run and what happened to its container. */
import { ReplicaPhase } from '@tide/api';
import { Assignment__Output } from '@tide/proto';
import { ContainerInfo } from '@tide/runtime';

export interface LastExit {
  code: number | null;
  signal: string | null;
  reason: string;
  finishedAt: string;
}

export interface ReplicaRecord {
  key: string;
  namespace: string;
  name: string;
  assignment?: Assignment__Output;
  container?: ContainerInfo;
  phase: ReplicaPhase;
  message?: string;
  restartCount: number;
  consecutiveFailures: number;
  lastExit?: LastExit;
  /** Not before this time (ms since epoch) is the container started again. */
  nextStartAt: number;
  /** A start or stop is in flight. */
  busy: boolean;
}

export function containerId(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

export function newRecord(namespace: string, name: string): ReplicaRecord {
  return { key: `${namespace}/${name}`, namespace, name, phase: 'Starting', restartCount: 0, consecutiveFailures: 0, nextStartAt: 0, busy: false };
}

/** What the agent remembers across its own restarts (containers themselves are found by the runtime). */
export type PersistedRecords = Record<string, Pick<ReplicaRecord, 'restartCount' | 'consecutiveFailures' | 'lastExit'>>;
