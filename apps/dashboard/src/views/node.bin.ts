/**
 * One node's bin on the Cluster view: a block per replica, sized by its CPU request against the
 * node's allocatable CPU; CPU and memory used (the agents' reports) against requested against
 * capacity, as numbers and as a meter; NotReady, cordoned and draining marked; for callers who may,
 * cordon, uncordon and drain.
 */
import type { DashboardPermissions, NodeUsageView, NodeView, ReplicaView } from '@tide/api';
import type { NodeAction } from '../actions';
import { formatCpu, formatMemory, h } from '../dom';

export function drawBin(node: NodeView, replicas: ReplicaView[], used: NodeUsageView | undefined, may: DashboardPermissions): HTMLElement {
  const marks = [!node.ready && 'NotReady', node.cordoned && !node.draining && 'Cordoned',
    node.draining && `${node.draining === 'Drain' ? 'Draining' : 'Consolidating'}, ${replicas.length} left`]
    .filter((mark): mark is string => Boolean(mark));
  const state = [node.ready ? '' : ' not-ready', node.cordoned ? ' cordoned' : '', node.draining ? ' draining' : ''].join('');
  return h('article', { class: `bin${state}`, role: 'listitem', 'aria-label': `node ${node.name}`, 'data-node': node.name },
    h('h3', {}, node.name, ...marks.map((mark) => h('span', { class: `badge badge-${mark.split(',')[0].toLowerCase()}` }, mark))),
    h('div', { class: 'blocks' }, ...replicas.map((replica) => drawBlock(replica, node.allocatable.cpu))),
    drawResources(node, replicas, used),
    nodeActions(node, may),
  );
}

/** The bin's used / requested / capacity lines, drawn again alone when only the usage changed. */
export function drawResources(node: NodeView, replicas: ReplicaView[], used: NodeUsageView | undefined): HTMLElement {
  const requested = replicas.reduce((sum, r) => ({ cpu: sum.cpu + r.cpu, memory: sum.memory + r.memory }), { cpu: 0, memory: 0 });
  return h('div', { class: 'resources' },
    resourceLine('CPU', 'cpu', used?.cpu, requested.cpu, node.capacity.cpu, node.allocatable.cpu, formatCpu),
    resourceLine('Memory', 'memory', used?.memory, requested.memory, node.capacity.memory, node.allocatable.memory, formatMemory),
    h('p', { class: 'usage' }, `${replicas.length} replicas`));
}

function resourceLine(label: string, resource: string, used: number | undefined, requested: number, capacity: number, allocatable: number,
  format: (value: number) => string): HTMLElement {
  const reserved = allocatable < capacity ? ` (${format(allocatable)} allocatable)` : '';
  return h('div', { class: 'resource', 'data-resource': resource },
    meter(used, requested, capacity),
    h('p', { class: 'usage' }, `${label}: `, h('span', { 'data-used': resource }, used === undefined ? 'not reported' : `${format(used)} used`),
      ` · ${format(requested)} requested · capacity ${format(capacity)}${reserved}`));
}

/** The bar behind the numbers: the whole is the capacity, requested lighter, used darker on top. */
function meter(used: number | undefined, requested: number, capacity: number): HTMLElement {
  const share = (value: number) => `${capacity > 0 ? Math.min(value / capacity, 1) * 100 : 0}%`;
  const requestedBar = h('span', { class: 'meter-requested' });
  requestedBar.style.width = share(requested); // through CSSOM: the page's policy refuses style attributes
  const usedBar = h('span', { class: 'meter-used' });
  usedBar.style.width = share(used ?? 0);
  return h('span', { class: 'meter', 'aria-hidden': 'true' }, requestedBar, usedBar);
}

function nodeActions(node: NodeView, may: DashboardPermissions): HTMLElement | null {
  // The focus key names the slot, not the label: after Cordon the focus stays on the Uncordon that replaces it.
  const button = (action: NodeAction, label: string, slot: string) => h('button', {
    type: 'button', class: 'secondary', 'data-action': action, 'data-node': node.name, 'data-focus-key': `${node.name}/${slot}`, 'aria-label': `${label} ${node.name}`,
  }, label);
  const buttons = [
    may.cordon && (node.cordoned ? button('uncordon', 'Uncordon', 'cordon') : button('cordon', 'Cordon', 'cordon')),
    may.drain && !node.draining && button('drain', 'Drain', 'drain'),
  ].filter((b): b is HTMLButtonElement => Boolean(b));
  return buttons.length === 0 ? null : h('div', { class: 'node-actions' }, ...buttons);
}

function drawBlock(replica: ReplicaView, allocatableCpu: number): HTMLElement {
  const block = h('div', {
    class: `block${replica.ready ? '' : ' not-ready'}`,
    title: `${replica.name} (${replica.service}): ${formatCpu(replica.cpu)} CPU, ${formatMemory(replica.memory)}, ${replica.phase}${replica.ready ? ', ready' : ''}`,
  });
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
