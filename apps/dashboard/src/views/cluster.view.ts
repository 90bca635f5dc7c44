/**
 * Cluster: every node a bin (node.bin.ts), the cluster's packing against its lower bound, the
 * replicas no node has taken, and the drains in progress (drain.progress.ts). A batch redraws only
 * the bins it touched; a usage message only their used numbers. A redraw keeps the keyboard focus
 * on the button it replaced.
 */
import { cordonNode, drainNode, type NodeAction } from '../actions';
import type { ClusterState, Touched } from '../cluster.state';
import { h, keepingFocus } from '../dom';
import type { Session } from '../session';
import { DrainProgressView } from './drain.progress';
import { drawBin, drawResources } from './node.bin';

export class ClusterView {
  readonly element: HTMLElement;
  private readonly summary = h('p', { class: 'summary' });
  private readonly bins = h('div', { class: 'bins', role: 'list', 'aria-label': 'Nodes' });
  private readonly pending = h('div', { class: 'pending' });
  private readonly message = h('p', { role: 'status', class: 'message' });
  private readonly drains: DrainProgressView;
  private readonly drawn = new Map<string, HTMLElement>();

  constructor(private readonly state: ClusterState, session: Session) {
    this.drains = new DrainProgressView(session);
    this.element = h('section', { 'aria-labelledby': 'cluster-title' },
      h('h2', { id: 'cluster-title' }, 'Cluster'), this.summary, this.message, this.drains.element, this.bins, this.pending);
    // One listener for every bin's buttons: bins are redrawn as batches come.
    this.bins.addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest('button[data-action]');
      if (!button) return;
      const { action, node } = (button as HTMLButtonElement).dataset as { action: NodeAction; node: string };
      if (action !== 'drain') return void cordonNode(session, node, action).then((line) => (this.message.textContent = line));
      void drainNode(session, node).then(({ line, progress }) => {
        this.message.textContent = line;
        if (progress) this.drains.started(progress);
      });
    });
  }

  update(touched: Touched): void {
    keepingFocus(this.bins, () => this.redraw(touched));
    for (const name of touched.used) {
      if (touched.all || touched.nodes.has(name)) continue; // drawn whole above
      const node = this.state.nodes.get(name);
      const resources = this.drawn.get(name)?.querySelector('.resources');
      if (node && resources) resources.replaceWith(drawResources(node, this.state.replicasOn(name), this.state.usage.get(name)));
    }
    if (touched.all || touched.pending) this.drawPending();
    if (touched.nodes.size > 0) this.drains.touched(touched.nodes, (name) => this.state.nodes.get(name));
    this.drawSummary();
  }

  /** The touched bins drawn again, in name order. */
  private redraw(touched: Touched): void {
    const names = touched.all ? [...this.state.nodes.keys()] : [...touched.nodes];
    if (touched.all) this.drawn.clear();
    let reorder = touched.all;
    for (const name of names) {
      const node = this.state.nodes.get(name);
      const old = this.drawn.get(name);
      if (!node) {
        old?.remove();
        this.drawn.delete(name);
        continue;
      }
      const bin = drawBin(node, this.state.replicasOn(name), this.state.usage.get(name), this.state.may);
      if (old) old.replaceWith(bin);
      else reorder = true;
      this.drawn.set(name, bin);
    }
    if (reorder) this.bins.replaceChildren(...[...this.drawn.keys()].sort(byName).map((name) => this.drawn.get(name)!));
  }

  private drawSummary(): void {
    const packing = this.state.packing();
    this.summary.textContent = `${this.state.nodes.size} nodes · ${this.state.replicas.size} replicas · `
      + `${packing.used} nodes in use, lower bound ${packing.lowerBound}`;
  }

  private drawPending(): void {
    const pending = this.state.pendingReplicas();
    this.pending.replaceChildren(...(pending.length === 0 ? [] : [
      h('h3', {}, `Pending (${pending.length})`),
      h('ul', { class: 'pending-list' }, ...pending.slice(0, 200).map((r) => h('li', {}, `${r.name} (${r.service})`))),
    ]));
  }
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });
