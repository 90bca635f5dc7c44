/** Validation of a Service's `volumes` and `volumeMounts` (volume.types.ts), every error with its path. */
import type { Checker } from './field.checker';
import { describe } from './field.checker';
import { checkConfigKey, checkDnsLabel, checkSubdomain } from './names';
import { parseMemory } from './quantity';
import { VOLUME_SOURCES } from './volume.types';

type Json = Record<string, unknown>;

const HOST_PATH_TYPES = ['DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket'];
/** Paths a mount would hide the container's own kernel views or device nodes under (/dev/shm is fine). */
const RESERVED_MOUNTS = ['/', '/proc', '/sys', '/dev'];

export function checkVolumes(c: Checker, volumes: unknown): void {
  if (!Array.isArray(volumes)) return c.fail('spec.volumes', `must be a list, got ${describe(volumes)}`);
  const names = new Set<string>();
  volumes.forEach((volume, i) => {
    const path = `spec.volumes[${i}]`;
    if (!c.isObject(volume, path)) return;
    c.onlyKnown(volume, path, ['name', ...VOLUME_SOURCES]);
    if (checkDnsLabel(c, volume.name, `${path}.name`)) {
      if (names.has(volume.name)) c.fail(`${path}.name`, `duplicate volume name "${volume.name}"`);
      names.add(volume.name);
    }
    const given = VOLUME_SOURCES.filter((s) => volume[s] !== undefined);
    if (given.length !== 1) {
      c.fail(path, `needs exactly one source: ${VOLUME_SOURCES.join(', ')}${given.length ? ` (got ${given.join(' and ')})` : ''}`);
    }
    for (const source of given) checkSource(c, source, volume[source], `${path}.${source}`);
  });
}

function checkSource(c: Checker, source: string, value: unknown, path: string): void {
  if (!c.isObject(value, path)) return;
  if (source === 'emptyDir') return checkEmptyDir(c, value, path);
  if (source === 'configMap' || source === 'secret') return checkKeyFiles(c, value, path, source === 'configMap' ? 'name' : 'secretName');
  if (source === 'hostPath') {
    c.onlyKnown(value, path, ['path', 'type']);
    if (value.path === undefined) c.fail(`${path}.path`, 'required: an absolute path on the node');
    else if (c.string(value.path, `${path}.path`) && !value.path.startsWith('/')) c.fail(`${path}.path`, 'must be an absolute path');
    // "" (the default) checks nothing, as in Kubernetes.
    if (value.type !== undefined && value.type !== '') c.oneOf(value.type, `${path}.type`, HOST_PATH_TYPES);
    return;
  }
  c.onlyKnown(value, path, ['name']);
  checkDnsLabel(c, value.name, `${path}.name`);
}

function checkEmptyDir(c: Checker, value: Json, path: string): void {
  c.onlyKnown(value, path, ['medium', 'sizeLimit']);
  // "" (the default) is the node's disk.
  if (value.medium !== undefined && value.medium !== '') c.oneOf(value.medium, `${path}.medium`, ['Memory']);
  if (value.sizeLimit === undefined) return;
  const limitPath = `${path}.sizeLimit`;
  if (typeof value.sizeLimit !== 'string' && typeof value.sizeLimit !== 'number') return c.fail(limitPath, `must be a quantity such as 1Gi, got ${describe(value.sizeLimit)}`);
  try {
    if (parseMemory(value.sizeLimit) <= 0) c.fail(limitPath, 'must be above 0 (leave it out for no limit)');
  } catch (error) {
    c.fail(limitPath, (error as Error).message);
  }
}

/** A configMap or secret volume: the object's name, optional items (key → relative path), modes. */
function checkKeyFiles(c: Checker, value: Json, path: string, nameField: 'name' | 'secretName'): void {
  c.onlyKnown(value, path, [nameField, 'items', 'defaultMode', 'optional']);
  checkSubdomain(c, value[nameField], `${path}.${nameField}`);
  if (value.defaultMode !== undefined) c.integer(value.defaultMode, `${path}.defaultMode`, 0, 0o777);
  if (value.optional !== undefined) c.boolean(value.optional, `${path}.optional`);
  if (value.items === undefined) return;
  if (!Array.isArray(value.items)) return c.fail(`${path}.items`, `must be a list, got ${describe(value.items)}`);
  const paths = new Set<string>();
  value.items.forEach((item, i) => {
    const itemPath = `${path}.items[${i}]`;
    if (!c.isObject(item, itemPath)) return;
    c.onlyKnown(item, itemPath, ['key', 'path', 'mode']);
    checkConfigKey(c, item.key, `${itemPath}.key`);
    if (checkRelativePath(c, item.path, `${itemPath}.path`)) {
      if (paths.has(item.path)) c.fail(`${itemPath}.path`, `duplicate path "${item.path}"`);
      paths.add(item.path);
    }
    if (item.mode !== undefined) c.integer(item.mode, `${itemPath}.mode`, 0, 0o777);
  });
}

/** A path inside a volume: relative, no `..` element, not empty. */
function checkRelativePath(c: Checker, value: unknown, path: string): value is string {
  if (value === undefined) {
    c.fail(path, 'required: a relative path inside the volume');
    return false;
  }
  if (!c.string(value, path)) return false;
  if (value === '' || value.startsWith('/') || value.split('/').includes('..')) {
    c.fail(path, `"${value}" must be a relative path without ".." elements`);
    return false;
  }
  return true;
}

export function checkVolumeMounts(c: Checker, mounts: unknown, volumes: unknown): void {
  if (!Array.isArray(mounts)) return c.fail('spec.volumeMounts', `must be a list, got ${describe(mounts)}`);
  const volumeNames = Array.isArray(volumes) ? volumes.map((v) => (v as Json | null)?.name).filter((n): n is string => typeof n === 'string') : [];
  const mountPaths = new Set<string>();
  mounts.forEach((mount, i) => {
    const path = `spec.volumeMounts[${i}]`;
    if (!c.isObject(mount, path)) return;
    c.onlyKnown(mount, path, ['name', 'mountPath', 'readOnly', 'subPath']);
    if (mount.name === undefined) c.fail(`${path}.name`, 'required: the name of one of spec.volumes');
    else if (c.string(mount.name, `${path}.name`) && !volumeNames.includes(mount.name)) {
      c.fail(`${path}.name`, `"${mount.name}" names none of spec.volumes${volumeNames.length ? ` (named: ${volumeNames.join(', ')})` : ''}`);
    }
    checkMountPath(c, mount.mountPath, `${path}.mountPath`, mountPaths);
    if (mount.readOnly !== undefined) c.boolean(mount.readOnly, `${path}.readOnly`);
    if (mount.subPath !== undefined) checkRelativePath(c, mount.subPath, `${path}.subPath`);
  });
}

function checkMountPath(c: Checker, value: unknown, path: string, seen: Set<string>): void {
  if (value === undefined) return c.fail(path, 'required: an absolute path in the container');
  if (!c.string(value, path)) return;
  const normal = value.replace(/\/+$/, '') || '/';
  if (!value.startsWith('/') || normal.split('/').includes('..')) return c.fail(path, `"${value}" must be an absolute path without ".." elements`);
  if (RESERVED_MOUNTS.includes(normal)) return c.fail(path, `"${value}" is the container's ${normal === '/' ? 'root' : normal}; mount somewhere else`);
  if (seen.has(normal)) c.fail(path, `duplicate mountPath "${value}"`);
  seen.add(normal);
}
