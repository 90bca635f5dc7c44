/**
 * Drains in progress on the Cluster view: per node, how many replicas are left to move, stopping
 * and moved, and what holds any back (`GET /api/v1/nodes/NAME/drain`, the answer `tsctl drain`
 * prints). Read again when the watch stream touches the node (its replicas moving are such
 * touches), at most once a second per node: never polled. A node whose drain ended keeps its last
 * line ("drained", or "cancelled" with what was left) until the page is left.
 */
import type { DrainProgress, NodeView } from '@tide/api';
import { h } from '../dom';
import type { Session } from '../session';

const REFETCH_MS = 1000;

interface Tracked {
  line: HTMLLIElement;
  fetchedAt: number;
  fetching: boolean;
  /** Touched while being read: read once more after. */
  again: boolean;
  done: boolean;
}

export class DrainProgressView {
  readonly element: HTMLElement;
  private readonly list = h('ul', { class: 'drains' });
  private readonly tracked = new Map<string, Tracked>();

  constructor(private readonly session: Session) {
    this.element = h('section', { class: 'drain-progress', 'aria-labelledby': 'drains-title', hidden: true },
      h('h3', { id: 'drains-title' }, 'Drains'), this.list);
  }

  /** A drain this page started: its first answer (the POST's) is shown at once. */
  started(progress: DrainProgress): void {
    this.track(progress.node).done = false;
    this.show(progress.node, progress);
  }

  /** The nodes a batch touched: those draining (or tracked and not done yet) are read again. */
  touched(nodes: Iterable<string>, current: (name: string) => NodeView | undefined): void {
    for (const name of nodes) {
      const tracked = this.tracked.get(name);
      if (current(name)?.draining || (tracked && !tracked.done)) this.refetch(name);
    }
  }

  private track(node: string): Tracked {
    let tracked = this.tracked.get(node);
    if (!tracked) {
      tracked = { line: h('li', { 'data-drain': node }), fetchedAt: 0, fetching: false, again: false, done: false };
      this.tracked.set(node, tracked);
      this.list.replaceChildren(...[...this.tracked.keys()].sort().map((name) => this.tracked.get(name)!.line));
      this.element.hidden = false;
    }
    return tracked;
  }

  private refetch(node: string): void {
    const tracked = this.track(node);
    if (tracked.fetching) return void (tracked.again = true);
    tracked.fetching = true;
    setTimeout(() => {
      this.session.request<DrainProgress>('GET', `/api/v1/nodes/${encodeURIComponent(node)}/drain`).then(
        (progress) => this.show(node, progress),
        (error: Error) => tracked.line.replaceChildren(`${node}: progress not readable: ${error.message}`),
      ).finally(() => {
        tracked.fetchedAt = Date.now();
        tracked.fetching = false;
        if (tracked.again) {
          tracked.again = false;
          this.refetch(node);
        }
      });
    }, Math.max(0, tracked.fetchedAt + REFETCH_MS - Date.now()));
  }

  private show(node: string, progress: DrainProgress): void {
    const tracked = this.track(node);
    tracked.done = progress.empty || !progress.drain;
    const stuck = progress.remaining.filter((item) => item.stuck);
    tracked.line.replaceChildren(h('strong', {}, node), `: ${drainSummary(progress)}`,
      ...(stuck.length === 0 ? [] : [h('ul', {}, ...stuck.map((item) => h('li', {}, `${item.replica}: ${item.message}`)))]));
  }
}

/** "3 left to move · 1 stopping · 2 moved", or how the drain ended. */
export function drainSummary(progress: DrainProgress): string {
  const left = progress.remaining.length;
  const counts = `${left} left to move · ${progress.stopping.length} stopping · ${progress.moved.length} moved`;
  if (progress.empty) return `drained (${progress.moved.length} moved)`;
  if (!progress.drain) return `drain cancelled: ${counts}`;
  return counts;
}
