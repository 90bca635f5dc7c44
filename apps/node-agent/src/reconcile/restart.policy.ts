/** Whether an exited container is started again, and how its exit is named (as Kubernetes names them). */
import { RestartPolicy } from '@tide/api';

export interface ExitFacts {
  code: number | null;
  signal: string | null;
  oomKilled: boolean;
}

/** Exit code 0 and no OOM kill. An unknown exit (an adopted container's code is lost) counts as a failure. */
export function exitSucceeded(exit: ExitFacts): boolean {
  return exit.code === 0 && !exit.oomKilled;
}

export function shouldRestart(policy: RestartPolicy, exit: ExitFacts): boolean {
  switch (policy) {
    case 'Always':
      return true;
    case 'OnFailure':
      return !exitSucceeded(exit);
    case 'Never':
      return false;
  }
}

export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'Killed' | 'Unknown';

export function exitReason(exit: ExitFacts): ExitReason {
  if (exit.oomKilled) return 'OOMKilled';
  if (exit.code === 0) return 'Completed';
  if (exit.signal === 'SIGKILL') return 'Killed';
  if (exit.code === null && exit.signal === null) return 'Unknown';
  return 'Error';
}
