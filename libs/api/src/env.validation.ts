/** Validation of a Service's `env` (strings or `valueFrom`) and `envFrom`, every error with its path. */
import type { Checker } from './field.checker';
import { describe } from './field.checker';
import { checkConfigKey, checkSubdomain } from './names';

type Json = Record<string, unknown>;

const REF_KINDS = ['configMapKeyRef', 'secretKeyRef'] as const;
const FROM_KINDS = ['configMapRef', 'secretRef'] as const;

export function checkEnv(c: Checker, env: unknown): void {
  if (!c.isObject(env, 'spec.env')) return;
  for (const [name, value] of Object.entries(env)) {
    const path = `spec.env.${name}`;
    if (name === '' || name.includes('=')) c.fail(path, `"${name}" is not a variable name (empty, or contains "=")`);
    if (typeof value === 'string') continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      c.fail(path, `must be a string or { valueFrom: { configMapKeyRef | secretKeyRef } }, got ${describe(value)}`);
      continue;
    }
    checkValueFrom(c, value as Json, path);
  }
}

function checkValueFrom(c: Checker, value: Json, path: string): void {
  c.onlyKnown(value, path, ['valueFrom']);
  const from = value.valueFrom;
  if (!c.isObject(from, `${path}.valueFrom`)) return;
  c.onlyKnown(from, `${path}.valueFrom`, REF_KINDS);
  const given = REF_KINDS.filter((k) => from[k] !== undefined);
  if (given.length !== 1) {
    c.fail(`${path}.valueFrom`, `needs exactly one of ${REF_KINDS.join(', ')}${given.length ? ` (got ${given.join(' and ')})` : ''}`);
  }
  for (const kind of given) {
    const refPath = `${path}.valueFrom.${kind}`;
    const ref = from[kind];
    if (!c.isObject(ref, refPath)) continue;
    c.onlyKnown(ref, refPath, ['name', 'key', 'optional']);
    checkSubdomain(c, ref.name, `${refPath}.name`);
    checkConfigKey(c, ref.key, `${refPath}.key`);
    if (ref.optional !== undefined) c.boolean(ref.optional, `${refPath}.optional`);
  }
}

export function checkEnvFrom(c: Checker, envFrom: unknown): void {
  if (!Array.isArray(envFrom)) return c.fail('spec.envFrom', `must be a list, got ${describe(envFrom)}`);
  envFrom.forEach((source, i) => {
    const path = `spec.envFrom[${i}]`;
    if (!c.isObject(source, path)) return;
    c.onlyKnown(source, path, ['prefix', ...FROM_KINDS]);
    const given = FROM_KINDS.filter((k) => source[k] !== undefined);
    if (given.length !== 1) c.fail(path, `needs exactly one of ${FROM_KINDS.join(', ')}${given.length ? ` (got ${given.join(' and ')})` : ''}`);
    if (source.prefix !== undefined && c.string(source.prefix, `${path}.prefix`) && source.prefix.includes('=')) {
      c.fail(`${path}.prefix`, 'must not contain "="');
    }
    for (const kind of given) {
      const ref = source[kind];
      if (!c.isObject(ref, `${path}.${kind}`)) continue;
      c.onlyKnown(ref, `${path}.${kind}`, ['name', 'optional']);
      checkSubdomain(c, ref.name, `${path}.${kind}.name`);
      if (ref.optional !== undefined) c.boolean(ref.optional, `${path}.${kind}.optional`);
    }
  });
}
