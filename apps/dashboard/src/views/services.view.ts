/**
 * Services: ready of desired, revision and how many replicas are on it; for callers who may, a
 * scale control calling the same route as `tsctl scale` (PUT /api/v1/services/NAME/scale). Rows are
 * updated in place, so a number being typed is not wiped by the next batch.
 */
import type { ServiceView } from '@tide/api';
import type { ClusterState } from '../cluster.state';
import { h } from '../dom';
import type { Session } from '../session';

export class ServicesView {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly rows = new Map<string, { row: HTMLTableRowElement; cells: Record<string, HTMLTableCellElement> }>();
  private readonly message = h('p', { role: 'status', class: 'message' });
  private withActions = false;

  constructor(private readonly state: ClusterState, private readonly session: Session) {
    this.element = h('section', { 'aria-labelledby': 'services-title' }, h('h2', { id: 'services-title' }, 'Services'), this.message);
  }

  update(): void {
    if (this.withActions !== this.state.may.scale || !this.element.querySelector('table')) this.rebuild();
    const keys = [...this.state.services.keys()].sort();
    for (const [key, { row }] of this.rows) {
      if (!this.state.services.has(key)) {
        row.remove();
        this.rows.delete(key);
      }
    }
    for (const key of keys) {
      const service = this.state.services.get(key)!;
      const drawn = this.rows.get(key) ?? this.addRow(key, service);
      drawn.cells.ready.textContent = `${service.ready}/${service.desired}`;
      drawn.cells.replicas.textContent = String(service.replicas);
      drawn.cells.revision.textContent = service.revision === undefined ? '–' : String(service.revision);
      drawn.cells.updated.textContent = service.updated === undefined ? '–' : `${service.updated}/${service.desired}`;
    }
    this.body.replaceChildren(...keys.map((key) => this.rows.get(key)!.row));
  }

  private rebuild(): void {
    this.withActions = this.state.may.scale;
    this.rows.clear();
    const headings = ['Service', 'Namespace', 'Ready', 'Replicas', 'Revision', 'Updated', ...(this.withActions ? ['Scale'] : [])];
    const table = h('table', { class: 'services' },
      h('caption', { class: 'visually-hidden' }, 'Services with their ready and desired replicas'),
      h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
      this.body);
    this.element.querySelector('table')?.remove();
    this.element.insertBefore(table, this.message);
  }

  private addRow(key: string, service: ServiceView) {
    const cell = (name: string) => h('td', { 'data-col': name });
    const cells = { ready: cell('ready'), replicas: cell('replicas'), revision: cell('revision'), updated: cell('updated') };
    const row = h('tr', { 'data-service': key }, h('th', { scope: 'row' }, service.name), h('td', {}, service.namespace),
      cells.ready, cells.replicas, cells.revision, cells.updated, this.withActions ? h('td', {}, this.scaleForm(service)) : null);
    const drawn = { row, cells };
    this.rows.set(key, drawn);
    return drawn;
  }

  private scaleForm(service: ServiceView): HTMLFormElement {
    const id = `scale-${service.namespace}-${service.name}`;
    const input = h('input', { id, type: 'number', min: '0', max: '10000', step: '1', required: true, value: String(service.desired) });
    const form = h('form', { class: 'scale' },
      h('label', { for: id, class: 'visually-hidden' }, `Replicas of ${service.name}`), input,
      h('button', { type: 'submit', 'aria-label': `Scale ${service.name}` }, 'Scale'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.scale(service, Number(input.value));
    });
    return form;
  }

  private async scale(service: ServiceView, replicas: number): Promise<void> {
    const path = `/api/v1/services/${encodeURIComponent(service.name)}/scale?namespace=${encodeURIComponent(service.namespace)}`;
    try {
      await this.session.request('PUT', path, { replicas });
      this.message.textContent = `${service.name}: scaled to ${replicas}`;
    } catch (error) {
      this.message.textContent = `${service.name}: not scaled: ${(error as Error).message}`;
    }
  }
}
