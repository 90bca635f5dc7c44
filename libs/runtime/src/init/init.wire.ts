/**
 * The InitConfig in the encoding the native init reads without a parser of any kind
 * (native/init/config.c): a little-endian u32 length, then NUL-terminated strings in a fixed order,
 * numbers in decimal, lists preceded by their count, and the seccomp program's bytes after its
 * length. Whatever the init can be told rather than work out is worked out here, once per start, in
 * the warm agent: the overlay's options, the capability mask, the flags.
 */
import { overlayOptions } from '../snapshot/overlay.snapshotter';
import { RuntimeError } from '../runtime.types';
import { DEFAULT_CAPABILITY_MASK } from './capabilities';
import { BindFile, InitConfig } from './init.config';

/** Names the format and its version: an init built from other sources refuses the config, saying so. */
export const WIRE_FORMAT = 'tide-init 1';

/** The flags field (native/init/init.h). */
export const CONFIG_FLAGS = { readOnlyRoot: 1, trace: 2, stdinPipe: 4, tty: 8 } as const;
/** A bind's flags field. */
export const BIND_FLAGS = { directory: 1, readOnly: 2 } as const;

function configFlags(config: InitConfig): number {
  let flags = 0;
  if (config.readOnlyRootFilesystem) flags |= CONFIG_FLAGS.readOnlyRoot;
  if (config.trace) flags |= CONFIG_FLAGS.trace;
  if (config.stdio) flags |= config.stdio.tty ? CONFIG_FLAGS.tty : CONFIG_FLAGS.stdinPipe;
  return flags;
}

function bindFlags(bind: BindFile): number {
  return (bind.directory ? BIND_FLAGS.directory : 0) | (bind.readOnly ? BIND_FLAGS.readOnly : 0);
}

/** The fields in the order native/init/config.c reads them; `field` names each in errors. */
function fields(config: InitConfig): [field: string, value: string][] {
  const list = (name: string, values: string[]): [string, string][] => [[name, String(values.length)], ...values.map((v, i): [string, string] => [`${name}[${i}]`, v])];
  return [
    ['format', WIRE_FORMAT],
    ['hostname', config.hostname],
    ['logPath', config.logPath],
    ['rootfs.target', config.rootfs.target],
    ['rootfs', overlayOptions(config.rootfs)],
    ['workingDir', config.workingDir],
    ['user', config.user ?? ''],
    ['flags', String(configFlags(config))],
    ['capabilities', DEFAULT_CAPABILITY_MASK.toString()],
    ...list('argv', config.argv),
    ...list('env', config.env),
    ['bindFiles', String(config.bindFiles?.length ?? 0)],
    ...(config.bindFiles ?? []).flatMap((bind, i): [string, string][] => [
      [`bindFiles[${i}].source`, bind.source], [`bindFiles[${i}].target`, bind.target], [`bindFiles[${i}].flags`, String(bindFlags(bind))],
    ]),
    ['seccomp', String(config.seccomp?.length ?? 0)],
  ];
}

/** The bytes the runtime writes to the init's control pipe. A string holding a NUL cannot be passed
 *  (nor could execve take it): InvalidSpec, naming the field. */
export function encodeInitConfig(config: InitConfig): Buffer {
  const parts: Buffer[] = [];
  for (const [field, value] of fields(config)) {
    if (value.includes('\0')) throw new RuntimeError('InvalidSpec', `${field} holds a NUL byte, which a command, its environment or a path cannot`);
    parts.push(Buffer.from(`${value}\0`));
  }
  if (config.seccomp) parts.push(config.seccomp);
  const body = Buffer.concat(parts);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}
