/**
 * Cluster: every node a bin, every replica a block whose width is its CPU request against the
 * node's allocatable CPU, under it the CPU and memory requested against allocatable; NotReady,
 * cordoned and draining nodes marked (a draining node counts the replicas it still holds). For
 * callers who may: cordon, uncordon and drain, as tsctl. A batch redraws only the bins it touched.
 */
import type { DashboardPermissions, NodeView, ReplicaView } from '@tide/api';
import { nodeAction, type NodeAction } from '../actions';
import type { ClusterState, Touched } from '../cluster.state';
import { formatCpu, formatMemory, h } from '../dom';
import type { Session } from '../session';

export class ClusterView {
  readonly element: HTMLElement;
  private readonly summary = h('p', { class: 'summary' });
  private readonly bins = h('div', { class: 'bins', role: 'list', 'aria-label': 'Nodes' });
  private readonly pending = h('div', { class: 'pending' });
  private readonly message = h('p', { role: 'status', class: 'message' });
  private readonly drawn = new Map<string, HTMLElement>();

  constructor(private readonly state: ClusterState, session: Session) {
    this.element = h('section', { 'aria-labelledby': 'cluster-title' },
      h('h2', { id: 'cluster-title' }, 'Cluster'), this.summary, this.message, this.bins, this.pending);
    // One listener for every bin's buttons: bins are redrawn as batches come.
    this.bins.addEventListener('click', (event) => {
      const button = (event.target as HTMLElement).closest('button[data-action]');
      if (!button) return;
      const { action, node } = (button as HTMLButtonElement).dataset as { action: NodeAction; node: string };
      void nodeAction(session, node, action).then((line) => (this.message.textContent = line));
    });
  }

  update(touched: Touched): void {
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
      const bin = drawBin(node, this.state.replicasOn(name), this.state.may);
      if (old) old.replaceWith(bin);
      else reorder = true;
      this.drawn.set(name, bin);
    }
    if (reorder) this.bins.replaceChildren(...[...this.drawn.keys()].sort(byName).map((name) => this.drawn.get(name)!));
    if (touched.all || touched.pending) this.drawPending();
    this.drawSummary();
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

function drawBin(node: NodeView, replicas: ReplicaView[], may: DashboardPermissions): HTMLElement {
  const cpu = replicas.reduce((sum, r) => sum + r.cpu, 0);
  const memory = replicas.reduce((sum, r) => sum + r.memory, 0);
  const marks = [!node.ready && 'NotReady', node.cordoned && !node.draining && 'Cordoned',
    node.draining && `${node.draining === 'Drain' ? 'Draining' : 'Consolidating'}, ${replicas.length} left`]
    .filter((mark): mark is string => Boolean(mark));
  const blocks = h('div', { class: 'blocks' }, ...replicas.map((replica) => drawBlock(replica, node.allocatable.cpu)));
  const bin = h('article', { class: `bin${node.ready ? '' : ' not-ready'}${node.cordoned ? ' cordoned' : ''}`, role: 'listitem', 'aria-label': `node ${node.name}`, 'data-node': node.name },
    h('h3', {}, node.name, ...marks.map((mark) => h('span', { class: `badge badge-${mark.split(',')[0].toLowerCase()}` }, mark))),
    blocks,
    h('p', { class: 'usage' },
      `CPU ${formatCpu(cpu)} of ${formatCpu(node.allocatable.cpu)} · memory ${formatMemory(memory)} of ${formatMemory(node.allocatable.memory)} · ${replicas.length} replicas`),
    nodeActions(node, may),
  );
  return bin;
}

function nodeActions(node: NodeView, may: DashboardPermissions): HTMLElement | null {
  const button = (action: NodeAction, label: string) =>
    h('button', { type: 'button', class: 'secondary', 'data-action': action, 'data-node': node.name, 'aria-label': `${label} ${node.name}` }, label);
  const buttons = [
    may.cordon && (node.cordoned ? button('uncordon', 'Uncordon') : button('cordon', 'Cordon')),
    may.drain && !node.draining && button('drain', 'Drain'),
  ].filter((b): b is HTMLButtonElement => Boolean(b));
  return buttons.length === 0 ? null : h('div', { class: 'node-actions' }, ...buttons);
}

function drawBlock(replica: ReplicaView, allocatableCpu: number): HTMLElement {
  const block = h('div', {
    class: `block${replica.ready ? '' : ' not-ready'}`,
    title: `${replica.name} (${replica.service}): ${formatCpu(replica.cpu)} CPU, ${formatMemory(replica.memory)}, ${replica.phase}${replica.ready ? ', ready' : ''}`,
  });
  // Set through CSSOM: the page's policy refuses style attributes.
  const share = allocatableCpu > 0 ? Math.max(replica.cpu / allocatableCpu, 0.02) : 0.02;
  block.style.flexBasis = `${Math.min(share, 1) * 100}%`;
  block.style.backgroundColor = serviceColour(replica.service);
  return block;
}

/** One colour per service name, stable across loads. */
function serviceColour(service: string): string {
  let hash = 0;
  for (const char of service) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 55% 55%)`;
}
