/** The on-disk record of a container, so that a restarted agent finds and adopts it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic.write';
import { ContainerNetwork } from '../network/container.network';
import { ContainerExitStatus, ContainerSpec } from '../runtime.types';

export interface ContainerState {
  spec: ContainerSpec;
  pid: number;
  pidStartTime: number;
  startedAt: string;
  /** Bridge containers: the address and the host end of the veth pair. */
  network?: ContainerNetwork;
  exit?: { code: number | null; signal: string | null; oomKilled: boolean; finishedAt: string };
}

export class ContainerStateFiles {
  constructor(readonly containersDir: string) {}

  dir(id: string): string {
    return path.join(this.containersDir, id);
  }

  logPath(id: string): string {
    return path.join(this.dir(id), 'log');
  }

  read(id: string): ContainerState | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.dir(id), 'state.json'), 'utf8')) as ContainerState;
    } catch {
      return undefined;
    }
  }

  write(id: string, state: ContainerState): void {
    const file = path.join(this.dir(id), 'state.json');
    writeFileAtomic(file, JSON.stringify(state));
  }

  ids(): string[] {
    if (!fs.existsSync(this.containersDir)) return [];
    return fs.readdirSync(this.containersDir).filter((id) => fs.existsSync(path.join(this.dir(id), 'state.json')));
  }

  /**
   * Directories without a state file: what a start cut short leaves (the state file is written last,
   * just before "go"), or a removal cut short after its state file went.
   */
  leftovers(): string[] {
    if (!fs.existsSync(this.containersDir)) return [];
    return fs.readdirSync(this.containersDir).filter((id) => !fs.existsSync(path.join(this.dir(id), 'state.json')));
  }

  remove(id: string): void {
    fs.rmSync(this.dir(id), { recursive: true, force: true });
  }
}

export function exitToState(exit: ContainerExitStatus): NonNullable<ContainerState['exit']> {
  return { code: exit.code, signal: exit.signal, oomKilled: exit.oomKilled, finishedAt: exit.finishedAt.toISOString() };
}

export function exitFromState(exit: NonNullable<ContainerState['exit']>): ContainerExitStatus {
  return { code: exit.code, signal: exit.signal, oomKilled: exit.oomKilled, finishedAt: new Date(exit.finishedAt) };
}
