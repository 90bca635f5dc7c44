/**
 * Events: the recorded events and then each new one, newest first, from GET /api/v1/events?watch=1
 * (newline-delimited JSON), filtered as you type. Kept to the latest 1,000. A stream that ends or
 * fails is followed again.
 */
import type { TideEvent } from '@tide/api';
import { h } from '../dom';
import { RecentList } from '../recent.list';
import { ApiError, type Session } from '../session';
import { followAgain, isRefusal } from '../stream.follow';

/** Events kept in memory: the newest; older ones are dropped as new ones come. */
const KEPT = 1000;

export class EventsView {
  readonly element: HTMLElement;
  private readonly events = new RecentList<TideEvent>(KEPT);
  private readonly filter = h('input', { id: 'events-filter', type: 'search', autocomplete: 'off' });
  private readonly body = h('tbody');
  private abort?: AbortController;

  constructor(private readonly session: Session) {
    this.filter.addEventListener('input', () => this.draw());
    this.element = h('section', { 'aria-labelledby': 'events-title' },
      h('h2', { id: 'events-title' }, 'Events'),
      h('p', {}, h('label', { for: 'events-filter' }, 'Filter'), ' ', this.filter),
      h('table', { class: 'events' },
        h('caption', { class: 'visually-hidden' }, 'Events, newest first'),
        h('thead', {}, h('tr', {}, ...['Time', 'Type', 'Object', 'Reason', 'Message'].map((heading) => h('th', { scope: 'col' }, heading)))),
        this.body));
  }

  start(): void {
    this.stop();
    this.events.clear();
    const abort = new AbortController();
    this.abort = abort;
    void followAgain(abort.signal, () => this.follow(abort.signal), { failed: (error) => (isRefusal(error) ? 'stop' : undefined) });
  }

  stop(): void {
    this.abort?.abort();
  }

  private async follow(signal: AbortSignal): Promise<void> {
    const path = `/api/v1/events?namespace=${encodeURIComponent(this.session.watchedNamespace)}&watch=1`;
    const response = await fetch(path, { headers: this.session.headers(), signal, credentials: 'omit' });
    if (!response.ok || !response.body) throw new ApiError(response.status, response.statusText);
    this.events.clear(); // each stream sends the recorded ones again
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      this.events.push(lines.filter((line) => line.trim()).map((line) => (JSON.parse(line) as { object: TideEvent }).object));
      this.draw();
    }
  }

  private draw(): void {
    const needle = this.filter.value.trim().toLowerCase();
    const shown = this.events.items.filter((event) => !needle || describe(event).toLowerCase().includes(needle)).reverse().slice(0, 300);
    this.body.replaceChildren(...shown.map((event) => {
      const object = event.spec.involvedObject;
      return h('tr', { class: event.spec.type === 'Warning' ? 'warning' : '' },
        h('td', {}, new Date(event.spec.timestamp).toLocaleTimeString()), h('td', {}, event.spec.type),
        h('td', {}, `${object.kind.toLowerCase()}/${object.name}`), h('td', {}, event.spec.reason), h('td', {}, event.spec.message));
    }));
  }
}

function describe(event: TideEvent): string {
  const object = event.spec.involvedObject;
  return `${event.spec.type} ${object.kind} ${object.namespace}/${object.name} ${event.spec.reason} ${event.spec.message}`;
}
