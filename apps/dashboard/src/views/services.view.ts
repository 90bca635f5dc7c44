/**
 * Services: ready of desired, revision and how many replicas are on it; for callers who may, a
 * scale control and a rollout undo calling the routes of `tsctl scale` and `tsctl rollout undo`. Rows are
 * updated in place and moved only when the order changes, so a number being typed is not wiped by the
 * next batch and the focus stays where it was.
 */
import type { ServiceView } from '@tide/api';
import type { ClusterState } from '../cluster.state';
import { h, keepingFocus } from '../dom';
import type { Session } from '../session';
import { scaleService, undoRollout } from '../actions';

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
    const withActions = this.state.may.scale || this.state.may.rollback;
    if (this.withActions !== withActions || !this.element.querySelector('table')) this.rebuild(withActions);
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
    // Put back only when the order changed: moving a row takes the focus from its scale field.
    const order = keys.map((key) => this.rows.get(key)!.row);
    const current = this.body.children;
    if (order.length !== current.length || order.some((row, i) => current[i] !== row)) keepingFocus(this.body, () => this.body.replaceChildren(...order));
  }

  private rebuild(withActions: boolean): void {
    this.withActions = withActions;
    this.rows.clear();
    const headings = ['Service', 'Namespace', 'Ready', 'Replicas', 'Revision', 'Updated', ...(this.withActions ? ['Actions'] : [])];
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
    const row = h('tr', { 'data-service': key }, h('th', { scope: 'row' }, h('a', { href: `#/services/${encodeURIComponent(service.namespace)}/${encodeURIComponent(service.name)}` }, service.name)), h('td', {}, service.namespace),
      cells.ready, cells.replicas, cells.revision, cells.updated, this.withActions ? h('td', {}, h('div', { class: 'actions' }, ...this.actions(service))) : null);
    const drawn = { row, cells };
    this.rows.set(key, drawn);
    return drawn;
  }

  private actions(service: ServiceView): HTMLElement[] {
    const actions: HTMLElement[] = [];
    if (this.state.may.scale) actions.push(this.scaleForm(service));
    if (this.state.may.rollback) {
      const undo = h('button', { type: 'button', class: 'secondary', 'aria-label': `Undo rollout of ${service.name}`, 'data-focus-key': `undo-${service.namespace}-${service.name}` }, 'Undo rollout');
      undo.addEventListener('click', () => void undoRollout(this.session, service.namespace, service.name).then((line) => (this.message.textContent = line)));
      actions.push(undo);
    }
    return actions;
  }

  private scaleForm(service: ServiceView): HTMLFormElement {
    const id = `scale-${service.namespace}-${service.name}`;
    const input = h('input', { id, type: 'number', min: '0', max: '10000', step: '1', required: true, value: String(service.desired), 'data-focus-key': id });
    const form = h('form', { class: 'scale' },
      h('label', { for: id, class: 'visually-hidden' }, `Replicas of ${service.name}`), input,
      h('button', { type: 'submit', 'aria-label': `Scale ${service.name}`, 'data-focus-key': `${id}/submit` }, 'Scale'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void scaleService(this.session, service.namespace, service.name, Number(input.value)).then((line) => (this.message.textContent = line));
    });
    return form;
  }
}
