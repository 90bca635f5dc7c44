/**
 * The indexed placer: the same choice as ScanPlacer (scan.placer.ts) without calling the plugins on
 * every node. Three facts make that exact rather than a sample:
 * 1. Classes. Nodes with the same allocatable, labels, images, ready and cordoned answer every
 *    'class' plugin alike, so one member answers for the class: a class a replica's node selector
 *    rejects costs one call, not one per node.
 * 2. Pristine pools. Nodes of a class that hold nothing answer every plugin alike (plugins read only
 *    class fields, `requested`, `replicasOfService` and `hostPorts`), and ties go to the earlier
 *    node, so only the pool's first node is ever considered.
 * 3. Bounded cells. Other nodes sit in cells by free CPU and free memory (a few buckets per octave
 *    of allocatable). Every score is 'class' or 'utilization' (nondecreasing in `requested`), so
 *    scoring a made-up node with the least free space any feasible member of a cell can have
 *    bounds every member's total. Cells are visited best bound first, and the search stops at the
 *    first cell whose bound is below the best total found: no node skipped could have won.
 * Filters of scope 'node' (resources, host ports, spread) run on every node that is visited.
 */
import { ClusterState, isPristine } from './cluster.state';
import { BUCKETS, Cell, NodeClass, bucketOf, classKey, newClass } from './node.classes';
import { Plugins } from './registry';
import { Placer, firstRejection, totalScore } from './scan.placer';
import { FilterPlugin, PendingReplica, ReplicaContext } from './types';

export class IndexedPlacer implements Placer {
  private readonly classes: NodeClass[] = [];
  private readonly classOf: NodeClass[] = [];
  private readonly cellOf: (Cell | undefined)[] = [];
  private readonly positionInCell: Int32Array;
  private readonly classFilters: FilterPlugin[];
  private readonly nodeFilters: FilterPlugin[];
  private best = -1;
  private bestScore = -Infinity;

  constructor(private readonly state: ClusterState, private readonly plugins: Plugins) {
    this.classFilters = plugins.filters.filter((f) => f.scope === 'class');
    this.nodeFilters = plugins.filters.filter((f) => f.scope !== 'class');
    this.positionInCell = new Int32Array(state.nodes.length);
    const byKey = new Map<string, NodeClass>();
    state.nodes.forEach((node, index) => {
      const key = classKey(node);
      let nodeClass = byKey.get(key);
      if (!nodeClass) {
        nodeClass = newClass(node);
        byKey.set(key, nodeClass);
        this.classes.push(nodeClass);
      }
      nodeClass.size++;
      this.classOf[index] = nodeClass;
      if (isPristine(node)) nodeClass.pristine.push(index);
      else this.insert(index);
    });
  }

  place(replica: PendingReplica): number {
    const passing: NodeClass[] = [];
    let eligibleNodes = 0;
    const none = { eligibleNodes: 0, serviceReplicas: 0 };
    for (const nodeClass of this.classes) {
      if (firstRejection(replica, nodeClass.representative, this.classFilters, none) !== undefined) continue;
      passing.push(nodeClass);
      eligibleNodes += nodeClass.size;
    }
    const context: ReplicaContext = { eligibleNodes, serviceReplicas: this.state.serviceReplicas(replica) };
    this.best = -1;
    this.bestScore = -Infinity;
    for (const nodeClass of passing) {
      if (nodeClass.head < nodeClass.pristine.length) this.consider(nodeClass.pristine[nodeClass.head], replica, context);
    }
    for (const cell of this.cellsByBound(passing, replica)) {
      if (cell.bound < this.bestScore) break;
      for (const index of cell.cell.members) this.consider(index, replica, context);
    }
    return this.best;
  }

  bound(index: number): void {
    const nodeClass = this.classOf[index];
    if (this.cellOf[index] === undefined && nodeClass.pristine[nodeClass.head] === index) nodeClass.head++;
    const cell = this.cellOf[index];
    if (cell && cell.id === this.cellIdOf(index)) return;
    if (cell) this.remove(index, cell);
    this.insert(index);
  }

  /**
   * The node's holding was replaced: it leaves its cell or the pristine pool and is filed again,
   * into the pool (kept in index order after `head`, so its first member is still the earliest
   * pristine node) when it holds nothing any more.
   */
  changed(index: number): void {
    const nodeClass = this.classOf[index];
    const cell = this.cellOf[index];
    if (cell) this.remove(index, cell);
    else nodeClass.pristine.splice(this.poolPosition(nodeClass, index), 1);
    this.cellOf[index] = undefined;
    if (!isPristine(this.state.nodes[index])) return this.insert(index);
    nodeClass.pristine.splice(this.poolPosition(nodeClass, index), 0, index);
  }

  /** Where `index` is (or would go) in the pool's unbound part, which is sorted by index. */
  private poolPosition(nodeClass: NodeClass, index: number): number {
    let low = nodeClass.head;
    let high = nodeClass.pristine.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (nodeClass.pristine[mid] < index) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Feasible-looking cells of the passing classes whose bound can still win, best bound first. */
  private cellsByBound(passing: NodeClass[], replica: PendingReplica): { cell: Cell; bound: number }[] {
    const found: { cell: Cell; bound: number }[] = [];
    for (const nodeClass of passing) {
      for (const cell of nodeClass.cellList) {
        // Every member has less free space than the cell's upper edges: none can fit.
        if (cell.highCpu <= replica.cpu || cell.highMemory <= replica.memory) continue;
        const bound = this.cellBound(cell, replica);
        if (bound >= this.bestScore) found.push({ cell, bound });
      }
    }
    return found.sort((a, b) => b.bound - a.bound);
  }

  /**
   * A feasible member has at least max(low edge, request) free of each resource, so it is at most
   * allocatable − that full before the placement; scores never fall as `requested` grows, and the
   * sum is taken in the same order as totalScore, so the bound is never below a member's total.
   */
  private cellBound(cell: Cell, replica: PendingReplica): number {
    const { scratch } = cell.nodeClass;
    scratch.requested.cpu = scratch.allocatable.cpu - Math.max(cell.lowCpu, replica.cpu);
    scratch.requested.memory = scratch.allocatable.memory - Math.max(cell.lowMemory, replica.memory);
    return totalScore(replica, scratch, this.plugins);
  }

  private consider(index: number, replica: PendingReplica, context: ReplicaContext): void {
    const node = this.state.nodes[index];
    if (firstRejection(replica, node, this.nodeFilters, context) !== undefined) return;
    const score = totalScore(replica, node, this.plugins);
    if (score > this.bestScore || (score === this.bestScore && index < this.best)) {
      this.bestScore = score;
      this.best = index;
    }
  }

  private cellIdOf(index: number): number {
    const node = this.state.nodes[index];
    const nodeClass = this.classOf[index];
    const cpu = bucketOf(nodeClass.cpuEdges, node.allocatable.cpu - node.requested.cpu);
    const memory = bucketOf(nodeClass.memoryEdges, node.allocatable.memory - node.requested.memory);
    return cpu * BUCKETS + memory;
  }

  private insert(index: number): void {
    const nodeClass = this.classOf[index];
    const id = this.cellIdOf(index);
    let cell = nodeClass.cells.get(id);
    if (!cell) {
      const cpu = Math.floor(id / BUCKETS);
      const memory = id % BUCKETS;
      cell = {
        nodeClass, id, members: [], listPosition: nodeClass.cellList.length,
        lowCpu: nodeClass.cpuEdges[cpu], highCpu: nodeClass.cpuEdges[cpu + 1],
        lowMemory: nodeClass.memoryEdges[memory], highMemory: nodeClass.memoryEdges[memory + 1],
      };
      nodeClass.cells.set(id, cell);
      nodeClass.cellList.push(cell);
    }
    this.positionInCell[index] = cell.members.length;
    cell.members.push(index);
    this.cellOf[index] = cell;
  }

  /** Swap-remove: order inside a cell does not matter, every member of a visited cell is considered. */
  private remove(index: number, cell: Cell): void {
    const last = cell.members.pop()!;
    if (last !== index) {
      cell.members[this.positionInCell[index]] = last;
      this.positionInCell[last] = this.positionInCell[index];
    }
    if (cell.members.length > 0) return;
    const { cellList, cells } = cell.nodeClass;
    const moved = cellList.pop()!;
    if (moved !== cell) {
      cellList[cell.listPosition] = moved;
      moved.listPosition = cell.listPosition;
    }
    cells.delete(cell.id);
  }
}
