/**
 * The dashboard's actions, each the route tsctl calls (docs/REFERENCE.md): the API decides again
 * whether the caller may; the answer (or its error) comes back as one line for the page to show.
 */
import type { DrainProgress } from '@tide/api';
import type { Session } from './session';

export type NodeAction = 'cordon' | 'uncordon' | 'drain';

export async function cordonNode(session: Session, node: string, action: 'cordon' | 'uncordon'): Promise<string> {
  return outcome(`${node}: ${action}ed`, () => session.request('POST', nodePath(node, action), undefined, { idempotent: true }));
}

/** `tsctl drain`'s first call: the answer is the drain's progress so far (none when refused). */
export async function drainNode(session: Session, node: string): Promise<{ line: string; progress?: DrainProgress }> {
  try {
    const progress = await session.request<DrainProgress>('POST', nodePath(node, 'drain'), undefined, { idempotent: true });
    return { line: `${node}: draining`, progress };
  } catch (error) {
    return { line: `${node}: refused: ${(error as Error).message}` };
  }
}

const nodePath = (node: string, action: NodeAction) => `/api/v1/nodes/${encodeURIComponent(node)}/${action}`;

export async function scaleService(session: Session, namespace: string, name: string, replicas: number): Promise<string> {
  return outcome(`${name}: scaled to ${replicas}`, () =>
    session.request('PUT', `/api/v1/services/${encodeURIComponent(name)}/scale?namespace=${encodeURIComponent(namespace)}`, { replicas }, { idempotent: true }));
}

/** `tsctl rollout undo`: back to the revision before the current template. */
export async function undoRollout(session: Session, namespace: string, name: string): Promise<string> {
  const path = `/api/v1/services/${encodeURIComponent(name)}/rollback?namespace=${encodeURIComponent(namespace)}`;
  try {
    const result = await session.request<{ revision: number; action: string }>('POST', path, {});
    return result.action === 'unchanged' ? `${name}: already on the template of revision ${result.revision}` : `${name}: rolling back to the template of revision ${result.revision}`;
  } catch (error) {
    return `${name}: not rolled back: ${(error as Error).message}`;
  }
}

async function outcome(done: string, call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return done;
  } catch (error) {
    return `${done.split(':')[0]}: refused: ${(error as Error).message}`;
  }
}
