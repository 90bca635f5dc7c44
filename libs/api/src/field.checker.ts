/** The field checks shared by the manifest validators of this lib (not exported from it). */

export interface FieldError {
  document: number;
  path: string;
  message: string;
}

type Json = Record<string, unknown>;

/** Collects the errors of one document, each with its field path. */
export class Checker {
  readonly errors: FieldError[] = [];
  constructor(private readonly document: number) {}

  fail(path: string, message: string): void {
    this.errors.push({ document: this.document, path, message });
  }

  isObject(value: unknown, path: string): value is Json {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true;
    this.fail(path, `must be a mapping, got ${describe(value)}`);
    return false;
  }

  onlyKnown(value: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail(`${path}.${key}`, `unknown field (known: ${known.join(', ')})`);
    }
  }

  string(value: unknown, path: string): value is string {
    if (typeof value === 'string') return true;
    this.fail(path, `must be a string, got ${describe(value)}`);
    return false;
  }

  stringArray(value: unknown, path: string): void {
    if (!Array.isArray(value)) return this.fail(path, `must be a list of strings, got ${describe(value)}`);
    value.forEach((item, i) => this.string(item, `${path}[${i}]`));
  }

  stringMap(value: unknown, path: string): void {
    if (!this.isObject(value, path)) return;
    for (const [key, item] of Object.entries(value)) this.string(item, `${path}.${key}`);
  }

  integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return true;
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    this.fail(path, `must be an integer ${range}, got ${describe(value)}`);
    return false;
  }

  boolean(value: unknown, path: string): void {
    if (typeof value !== 'boolean') this.fail(path, `must be true or false, got ${describe(value)}`);
  }

  oneOf(value: unknown, path: string, allowed: readonly string[]): void {
    if (typeof value !== 'string' || !allowed.includes(value)) {
      this.fail(path, `must be one of ${allowed.join(', ')}, got ${describe(value)}`);
    }
  }
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

