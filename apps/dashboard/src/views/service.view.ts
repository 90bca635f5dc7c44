/**
 * One service's page (#/services/NAMESPACE/NAME): ready of desired, revision and rollout, the last
 * hour as a chart (service.chart.ts), its replicas per node, and the autoscaler's view: floor, what
 * it measured, its recent decisions with their numbers, and the scheduled floors ahead. The counts
 * come from the watch stream; the Service itself and its history are read again when the stream
 * says the Service changed (at most every two seconds), and the history (one service's small
 * answer, never a list) every HISTORY_MS while the page is open: the traffic's numbers (requests/s,
 * p99) change without the Service changing.
 */
import type { Service } from '@tide/api';
import type { ClusterState } from '../cluster.state';
import { h } from '../dom';
import type { Session } from '../session';
import { ServiceChart, type ChartPoint } from './service.chart';

const REFETCH_MS = 2000;
/** The control plane keeps a point every 10 s (service.history.ts). */
const HISTORY_MS = 10_000;

/** A time a schedule raises the floor (the history route's `scheduledFloors`). */
interface ScheduledFloor { name?: string; cron: string; timeZone: string; replicas: number; startMs: number; endMs: number }

export class ServiceView {
  readonly element: HTMLElement;
  private readonly summary = h('p', { class: 'summary' });
  private readonly placement = h('div', { class: 'placement' });
  private readonly autoscaler = h('div');
  private readonly chart = new ServiceChart();
  private readonly historyTimer: ReturnType<typeof setInterval>;
  private service?: Service;
  private floors: ScheduledFloor[] = [];
  private fetchedAt = 0;
  private fetching = false;
  /** The Service changed while it was being read: read it once more after. */
  private again = false;

  constructor(private readonly state: ClusterState, private readonly session: Session, readonly namespace: string, readonly name: string) {
    this.element = h('section', { 'aria-labelledby': 'service-title' },
      h('p', {}, h('a', { href: '#/services' }, 'All services')),
      h('h2', { id: 'service-title' }, `Service ${name}`), this.summary,
      h('h3', {}, 'The last hour'), this.chart.element,
      h('h3', {}, 'Replicas by node'), this.placement,
      h('h3', {}, 'Autoscaler'), this.autoscaler);
    this.historyTimer = setInterval(() => this.refetch(), HISTORY_MS);
  }

  /** The page was left. */
  stop(): void {
    clearInterval(this.historyTimer);
  }

  update(servicesChanged: boolean): void {
    const view = this.state.services.get(`${this.namespace}/${this.name}`);
    this.summary.textContent = view
      ? `${view.ready}/${view.desired} ready · ${view.replicas} replicas · revision ${view.revision ?? '–'} · ${view.updated ?? '–'}/${view.desired} on it`
      : `no service ${this.name} in namespace ${this.namespace}`;
    this.drawPlacement();
    if (servicesChanged || !this.service) this.refetch();
  }

  private drawPlacement(): void {
    const byNode = new Map<string, { ready: number; all: number }>();
    for (const replica of this.state.replicas.values()) {
      if (replica.service !== this.name || replica.namespace !== this.namespace) continue;
      const node = replica.node ?? '(pending)';
      const counts = byNode.get(node) ?? { ready: 0, all: 0 };
      counts.all++;
      if (replica.ready) counts.ready++;
      byNode.set(node, counts);
    }
    const rows = [...byNode].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
    this.placement.replaceChildren(rows.length === 0 ? h('p', {}, 'No replicas.') : table('Replicas of the service on each node',
      ['Node', 'Ready', 'Replicas'], rows.map(([node, counts]) => [node, String(counts.ready), String(counts.all)])));
  }

  /** Reads the Service again (its autoscaler status), unless it was read within REFETCH_MS; then once more after. */
  private refetch(): void {
    const wait = this.fetchedAt + REFETCH_MS - Date.now();
    if (this.fetching) return void (this.again = true);
    this.fetching = true;
    setTimeout(() => {
      const path = `/api/v1/services/${encodeURIComponent(this.name)}`;
      const query = `?namespace=${encodeURIComponent(this.namespace)}`;
      Promise.all([
        this.session.request<Service>('GET', path + query),
        this.session.request<{ points: ChartPoint[]; scheduledFloors?: ScheduledFloor[] }>('GET', `${path}/history${query}`),
      ]).then(([service, history]) => {
        this.service = service;
        this.floors = history.scheduledFloors ?? [];
        this.drawAutoscaler();
        this.chart.draw(history.points, service.status?.autoscale?.lastDecisions ?? [], this.name);
      }, (error: Error) => this.autoscaler.replaceChildren(h('p', {}, `Could not read the service: ${error.message}`))).finally(() => {
        this.fetchedAt = Date.now();
        this.fetching = false;
        if (this.again) {
          this.again = false;
          this.refetch();
        }
      });
    }, Math.max(0, wait));
  }

  private drawAutoscaler(): void {
    const spec = this.service?.spec.autoscale;
    const status = this.service?.status?.autoscale;
    if (!spec) return void this.autoscaler.replaceChildren(h('p', {}, 'Not autoscaled: the replicas are what spec.replicas says.'));
    const measured = status ? [
      `${status.currentReplicas} → ${status.desiredReplicas} replicas (floor ${status.floor}, ${spec.minReplicas ?? 1} to ${spec.maxReplicas})`,
      status.cpuUtilizationPercentage === undefined ? undefined : `CPU ${Math.round(status.cpuUtilizationPercentage)}% of requests`,
      status.requestsPerSecond === undefined ? undefined : `${status.requestsPerSecond.toFixed(1)} requests/s per replica`,
      status.activeSchedule ? `schedule ${status.activeSchedule.name ?? status.activeSchedule.cron} holds the floor until ${new Date(status.activeSchedule.until).toLocaleString()}` : undefined,
    ].filter((line): line is string => line !== undefined).join(' · ') : 'No observation yet.';
    const decisions = [...(status?.lastDecisions ?? [])].reverse();
    this.autoscaler.replaceChildren(
      h('p', {}, measured),
      decisions.length === 0 ? h('p', {}, 'No decision yet.') : table('The autoscaler\'s recent decisions, newest first', ['Time', 'From', 'To', 'Reason', 'Why'],
        decisions.map((d) => [new Date(d.time).toLocaleTimeString(), String(d.from), String(d.to), d.reason, d.message])),
      ...(spec.schedules?.length ? [h('h4', {}, 'Scheduled floors'), table('Scheduled floors', ['Name', 'Cron', 'Zone', 'Floor', 'For'],
        spec.schedules.map((s) => [s.name ?? '–', s.cron, s.timeZone ?? 'UTC', String(s.minReplicas), `${s.durationSeconds} s`])),
      h('h4', {}, 'Scheduled floors ahead'), this.floors.length === 0 ? h('p', {}, 'None in the coming week.')
        : table('Scheduled floors of the coming week, soonest first', ['From', 'Until', 'Floor', 'Schedule'],
          this.floors.map((f) => [new Date(f.startMs).toLocaleString(), new Date(f.endMs).toLocaleString(), String(f.replicas), f.name ?? f.cron]))] : []),
    );
  }
}

function table(caption: string, headings: string[], rows: string[][]): HTMLTableElement {
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))));
}
