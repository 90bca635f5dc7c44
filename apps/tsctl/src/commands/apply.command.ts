/**
 * `tsctl apply -f FILE|-`: sends every document of the file to the API; all or nothing. Kubernetes
 * documents are converted first (libs/kube): warnings go to stderr, a refusal sends nothing. Each
 * Service is written only if unchanged since read, read again on conflict (apply.versions.ts).
 * `--dry-run=server`: the API validates and admits the apply and writes nothing; `--prune -l
 * KEY=VALUE`: then deletes the labelled objects the file no longer holds (apply.prune.ts).
 */
import { ApiError } from '../api/api.client';
import { UsageError } from '../cli/args';
import { prepareManifests } from '../manifest/kube.convert';
import { ManifestRejectedError, readManifestFile } from '../manifest/manifest';
import { Command, CommandContext } from './command';
import { ApplyResult, applyWithVersions } from './apply.versions';
import { LabelSelector, parseSelector, prune } from './apply.prune';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'tsctl apply -f FILE|- [--force] [--dry-run=server] [--prune -l KEY=VALUE]',
  summary: 'create or update the objects in FILE (several --- documents; - reads stdin; Kubernetes manifests are converted)',
  options: [
    { long: 'filename', short: 'f', help: 'YAML file, or - for stdin' },
    { long: 'force', boolean: true, help: 'overwrite the stored objects even if they changed since read (no resourceVersion check)' },
    { long: 'dry-run', help: 'server: the API checks and admits the apply and writes nothing (prints what would happen)' },
    { long: 'prune', boolean: true, help: 'delete the objects carrying the -l labels that the file no longer holds' },
    { long: 'selector', short: 'l', help: 'KEY=VALUE[,KEY=VALUE]: the labels --prune looks for' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const { file, dryRun, selector } = applyArguments(ctx);
    const prepared = prepareManifests(readManifestFile(file));
    for (const warning of prepared.warnings) ctx.note(warning);
    let results: ApplyResult[];
    try {
      results = await applyWithVersions(ctx.api, prepared.documents, ctx.options.has('force'), (line) => ctx.note(line), dryRun);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.details.length > 0) {
        throw new ManifestRejectedError(error.details.map((d) => prepared.detail(d)));
      }
      throw error;
    }
    for (const r of results) ctx.out(`${r.kind.toLowerCase()}/${r.name} ${r.action}${dryRun ? ' (server dry run)' : ''}${changedPathsNote(r.changedPaths)}`);
    if (selector) for (const line of await prune(ctx.api, prepared.documents, selector, dryRun)) ctx.out(line);
  },
};

/** `: data.password, data.token` after a dry run's changed ConfigMap or Secret ('' for anything else). */
export function changedPathsNote(paths: string[] | undefined): string {
  return paths && paths.length > 0 ? `: ${paths.join(', ')}` : '';
}

/** The options, checked before anything is read or sent. */
export function applyArguments(ctx: Pick<CommandContext, 'args' | 'options'>): { file: string; dryRun: boolean; selector?: LabelSelector } {
  const file = ctx.options.get('filename');
  if (!file) throw new UsageError('apply needs -f FILE (or -f - for stdin)');
  if (ctx.args.length > 0) throw new UsageError(`apply takes no arguments besides -f FILE, got "${ctx.args.join(' ')}"`);
  const dryRunValue = ctx.options.get('dry-run');
  if (dryRunValue !== undefined && dryRunValue !== 'server') {
    throw new UsageError(`--dry-run: only "server" is supported (the API checks everything a real apply would), got "${dryRunValue}"`);
  }
  const pruning = ctx.options.has('prune');
  if (!pruning && ctx.options.has('selector')) throw new UsageError('-l selects what --prune deletes: give --prune with it');
  return { file, dryRun: dryRunValue === 'server', ...(pruning ? { selector: parseSelector(ctx.options.get('selector')) } : {}) };
}
