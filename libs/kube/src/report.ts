/**
 * What a conversion found, each with the document and the Kubernetes field path, and the field
 * rules every converter applies: a field is used, harmless (accepted with a warning), or would
 * change behaviour (refused). A field no rule knows is refused: Tide cannot tell what it would do.
 */

export interface ConversionIssue {
  /** Index of the document in the input (0-based, as the API's details). */
  document: number;
  path: string;
  message: string;
}

/** Where one document is: its index, and the path prefix of a `kind: List` item (`items[2].`). */
export interface DocContext {
  document: number;
  prefix: string;
}

export class Report {
  readonly warnings: ConversionIssue[] = [];
  readonly errors: ConversionIssue[] = [];

  warn(ctx: DocContext, path: string, message: string): void {
    this.warnings.push({ document: ctx.document, path: join(ctx.prefix, path), message });
  }

  refuse(ctx: DocContext, path: string, message: string): void {
    this.errors.push({ document: ctx.document, path: join(ctx.prefix, path), message });
  }
}

function join(prefix: string, path: string): string {
  return prefix ? (path ? `${prefix}.${path}` : prefix) : path;
}

export type Verdict = { warn: string } | { refuse: string };
/**
 * `use`: the converter maps it. `drop`: meaningless in Tide and not worth a warning (a container's
 * name). A verdict, or a function of the value giving one (undefined: the value is fine as it is).
 */
export type Rule = 'use' | 'drop' | Verdict | ((value: unknown) => Verdict | undefined);
export type Rules = Record<string, Rule>;

/** Applies `rules` to every field of `value` at `path`; answers the fields marked `use`. */
export function applyRules(report: Report, ctx: DocContext, path: string, value: Record<string, unknown>, rules: Rules): void {
  for (const [field, fieldValue] of Object.entries(value)) {
    const at = path ? `${path}.${field}` : field;
    const rule = rules[field];
    if (rule === undefined) {
      report.refuse(ctx, at, `unknown field: Tide cannot tell what it would do (known here: ${Object.keys(rules).join(', ')})`);
      continue;
    }
    if (rule === 'use' || rule === 'drop') continue;
    const verdict = typeof rule === 'function' ? rule(fieldValue) : rule;
    if (!verdict) continue;
    if ('warn' in verdict) report.warn(ctx, at, verdict.warn);
    else report.refuse(ctx, at, verdict.refuse);
  }
}

/** Ignored with a warning. */
export const ignored = (why: string): Verdict => ({ warn: `ignored: ${why}` });
/** Refused, saying what Tide lacks. */
export const refused = (why: string): Verdict => ({ refuse: why });

/** Fine at its Kubernetes default (or false/empty), refused otherwise. */
export function onlyDefault(defaults: unknown[], why: string): (value: unknown) => Verdict | undefined {
  return (value) => (value === undefined || value === null || defaults.includes(value) || isEmpty(value) ? undefined : refused(why));
}

/** Fine when empty, warned about otherwise. */
export function warnUnlessEmpty(why: string): (value: unknown) => Verdict | undefined {
  return (value) => (isEmpty(value) ? undefined : ignored(why));
}

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0;
  return value === undefined || value === null || value === false || value === '';
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The mapping at `path`, or a refusal saying what it is instead. */
export function objectAt(report: Report, ctx: DocContext, value: unknown, path: string): Json | undefined {
  if (value === undefined) return undefined;
  if (isObject(value)) return value;
  report.refuse(ctx, path, `must be a mapping, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  return undefined;
}

/** The list at `path` (empty when absent), or a refusal. */
export function listAt(report: Report, ctx: DocContext, value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  report.refuse(ctx, path, `must be a list, got ${isObject(value) ? 'a mapping' : JSON.stringify(value)}`);
  return [];
}
