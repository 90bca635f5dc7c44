/**
 * `tsctl cp [-a] [-n NS] SRC DST`: copies a file or a directory into or out of a running replica, in
 * `docker cp`'s forms: one side is `REPLICA:PATH`, the other a local path, or `-` for a tar stream on
 * stdin (into a directory of the replica) or stdout. Where a copy lands follows docker cp's rules
 * (cp/copy.plan.ts). The replica's side is the agent's work on the container's root file system
 * (no tar is needed in the image); the local side refuses archive entries that would leave the
 * destination, as the agent does.
 */
import * as fs from 'node:fs';
import { isDirectoryMode, isSymlinkMode } from '@tide/api';
import { extractTar } from '@tide/tar';
import { UsageError } from '../cli/args';
import { CopyRefused, planCopy, renameTop, topEntryOf } from '../cp/copy.plan';
import { localDestination, packLocal } from '../cp/local.files';
import { ReplicaFiles } from '../cp/replica.files';
import { Command, CommandContext, CommandError, NAMESPACE_OPTION, namespaceOf } from './command';

const USAGE = 'tsctl cp [-a] [-n NS] SRC DST  (REPLICA:PATH on one side; "-" for a tar on stdin or stdout)';

export const cpCommand: Command = {
  name: 'cp',
  usage: USAGE,
  summary: 'copy files or directories into or out of a running replica, as docker cp',
  options: [
    { long: 'archive', short: 'a', boolean: true, help: 'copying in: keep the owners (uid:gid) of the files, instead of root' },
    NAMESPACE_OPTION,
  ],
  async run(ctx: CommandContext): Promise<void> {
    const [src, dst, ...rest] = ctx.args;
    if (!src || !dst || rest.length > 0) throw new UsageError(`cp takes a source and a destination\nusage: ${USAGE}`);
    const from = sideOf(src);
    const to = sideOf(dst);
    if (from.replica && to.replica) throw new UsageError('cp copies between a replica and this machine: copy to a local path first, then into the other replica');
    if (!from.replica && !to.replica) throw new UsageError(`one side must be REPLICA:PATH, e.g. "tsctl cp ${src} web-1:/tmp/"\nusage: ${USAGE}`);
    const files = new ReplicaFiles(ctx.api, namespaceOf(ctx));
    try {
      if (from.replica) await copyOut(files, from.replica, from.path, to.path);
      else await copyIn(files, src, to.replica!, to.path, ctx.options.has('archive'));
    } catch (error) {
      if (error instanceof CopyRefused || (error as { name?: string }).name === 'TarError') throw new CommandError((error as Error).message);
      throw error;
    }
  },
};

/** "web-1:/etc/x" names a replica's path; a local path with a "/" before its first ":" stays local ("./a:b"). */
export function sideOf(arg: string): { replica?: string; path: string } {
  const match = /^([^/:]+):(.*)$/.exec(arg);
  return match ? { replica: match[1], path: match[2] || '/' } : { path: arg };
}

async function copyOut(files: ReplicaFiles, replica: string, source: string, destination: string): Promise<void> {
  const { stat, tar } = await files.read(replica, source);
  if (destination === '-') return writeStdout(tar);
  const plan = planCopy({ path: source, isDirectory: isDirectoryMode(stat.mode) }, await localDestination(destination));
  if (!(await localDestination(plan.directory)).isDirectory) throw new CopyRefused(`local directory ${plan.directory} does not exist`);
  await extractTar(tar, plan.directory, { rename: renameTop(topEntryOf(source), plan.topName) });
}

async function copyIn(files: ReplicaFiles, source: string, replica: string, destination: string, keepOwners: boolean): Promise<void> {
  let target = destination;
  let stat = await files.stat(replica, target);
  if (stat && isSymlinkMode(stat.mode)) {
    target = stat.linkTarget; // a symlink to a directory is copied into, as docker cp does
    stat = await files.stat(replica, target);
  }
  const exists = stat !== undefined;
  const isDirectory = stat !== undefined && isDirectoryMode(stat.mode);
  if (source === '-') {
    if (!isDirectory) throw new CopyRefused(`destination "${replica}:${destination}" must be an existing directory to extract a tar from stdin into`);
    return files.write(replica, target, process.stdin, keepOwners);
  }
  const local = await fs.promises.lstat(source).catch(() => {
    throw new CopyRefused(`${source}: no such file or directory`);
  });
  const plan = planCopy({ path: source, isDirectory: local.isDirectory() }, { path: target, exists, isDirectory });
  await files.write(replica, plan.directory, packLocal(source, plan.topName), keepOwners);
}

async function writeStdout(tar: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of tar) {
    if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  }
}
