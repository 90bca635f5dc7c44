/**
 * `GET /containers/json?filters=...` (docker ps --filter, and what compose asks): the filters Tide
 * reads, `label` (KEY or KEY=VALUE), `name` (a substring, as dockerd matches it), `id` (a prefix),
 * `status` (created, running, exited...); another is 400 naming it rather than ignored.
 */
import { DockerError } from './docker.errors';

export type Filters = Map<string, string[]>;

const KNOWN = ['label', 'name', 'id', 'status'];

/** Both wire forms: `{"label": ["a=b"]}` and the older `{"label": {"a=b": true}}`. */
export function parseFilters(text: string | null): Filters {
  const filters: Filters = new Map();
  if (!text) return filters;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DockerError(400, `filters: not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new DockerError(400, 'filters: expected an object of filter names');
  for (const [name, values] of Object.entries(parsed)) {
    if (!KNOWN.includes(name)) throw new DockerError(400, `invalid filter '${name}': Tide's Docker API filters containers by ${KNOWN.join(', ')}`);
    filters.set(name, Array.isArray(values) ? values.map(String) : Object.keys(values as object));
  }
  return filters;
}

/** A `docker ps` entry passes when every filter named has a value it matches. */
export function passes(entry: { Id: string; Names: string[]; Labels: Record<string, string>; State: string }, filters: Filters): boolean {
  const tests: Record<string, (value: string) => boolean> = {
    label: (value) => {
      const cut = value.indexOf('=');
      return cut < 0 ? value in entry.Labels : entry.Labels[value.slice(0, cut)] === value.slice(cut + 1);
    },
    name: (value) => entry.Names.some((n) => n.slice(1).includes(value.replace(/^\//, ''))),
    id: (value) => entry.Id.startsWith(value),
    status: (value) => entry.State === value,
  };
  // Several label filters must all hold (dockerd's rule); other names pass with any of their values.
  return [...filters.entries()].every(([name, values]) => (name === 'label' ? values.every(tests.label) : values.some(tests[name])));
}
