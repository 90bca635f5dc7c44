/**
 * `GET /containers/json?filters=...` (docker ps --filter, and what compose asks): the filters Tide
 * reads, `label` (KEY or KEY=VALUE), `name` (a substring, as dockerd matches it), `id` (a prefix),
 * `status` (created, running, exited...); `GET /images/json?filters=...` (docker images NAME): `reference`
 * (a glob over the name, or the name and tag) and `dangling` (Tide keeps no untagged images, so none
 * are); another is 400 naming it rather than ignored.
 */
import { DockerError } from './docker.errors';

export type Filters = Map<string, string[]>;

export const CONTAINER_FILTERS = ['label', 'name', 'id', 'status'];
export const IMAGE_FILTERS = ['reference', 'dangling'];

/** A query parameter's boolean as Docker's clients send it. */
export function isTrue(value: string | null): boolean {
  return value === '1' || value === 'true' || value === 'True';
}

/** Both wire forms: `{"label": ["a=b"]}` and the older `{"label": {"a=b": true}}`. */
export function parseFilters(text: string | null, known = CONTAINER_FILTERS, what = 'containers'): Filters {
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
    if (!known.includes(name)) throw new DockerError(400, `invalid filter '${name}': Tide's Docker API filters ${what} by ${known.join(', ')}`);
    filters.set(name, Array.isArray(values) ? values.map(String) : Object.keys(values as object));
  }
  return filters;
}

/** A `docker ps` entry passes when every filter named has a value it matches. */
export function passes(entry: { Id: string; Names: string[]; Labels: Record<string, string>; State: string }, filters: Filters): boolean {
  const tests: Record<string, (value: string) => boolean> = {
    label: (value) => labelMatches(entry.Labels, value),
    name: (value) => entry.Names.some((n) => n.slice(1).includes(value.replace(/^\//, ''))),
    id: (value) => entry.Id.startsWith(value),
    status: (value) => entry.State === value,
  };
  // Several label filters must all hold (dockerd's rule); other names pass with any of their values.
  return [...filters.entries()].every(([name, values]) => (name === 'label' ? values.every(tests.label) : values.some(tests[name])));
}

/** A `label` filter's value: KEY (present) or KEY=VALUE. */
export function labelMatches(labels: Record<string, string>, value: string): boolean {
  const cut = value.indexOf('=');
  return cut < 0 ? value in labels : labels[value.slice(0, cut)] === value.slice(cut + 1);
}

/** An image's tag passes `reference` when the glob matches its name or name:tag (dockerd's rule); `dangling=true` passes none. */
export function imagePasses(repoTags: string[], filters: Filters): boolean {
  if ((filters.get('dangling') ?? []).some(isTrue)) return false;
  const patterns = filters.get('reference') ?? [];
  if (patterns.length === 0) return true;
  return repoTags.some((ref) => {
    const name = ref.slice(0, ref.lastIndexOf(':'));
    return patterns.some((p) => {
      const glob = new RegExp(`^${p.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
      return glob.test(name) || glob.test(ref);
    });
  });
}
