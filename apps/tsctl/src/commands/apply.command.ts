/**
 * `tsctl apply -f FILE|-`: sends every document of the file to the API; all or nothing. Kubernetes
 * documents are converted first (libs/kube): warnings go to stderr, a refusal sends nothing. Each
 * Service is written only if unchanged since read, read again on conflict (apply.versions.ts).
 */
import { ApiError } from '../api/api.client';
import { UsageError } from '../cli/args';
import { prepareManifests } from '../manifest/kube.convert';
import { ManifestRejectedError, readManifestFile } from '../manifest/manifest';
import { Command, CommandContext } from './command';
import { ApplyResult, applyWithVersions } from './apply.versions';

export const applyCommand: Command = {
  name: 'apply',
  usage: 'tsctl apply -f FILE|- [--force]',
  summary: 'create or update the objects in FILE (several --- documents; - reads stdin; Kubernetes manifests are converted)',
  options: [
    { long: 'filename', short: 'f', help: 'YAML file, or - for stdin' },
    { long: 'force', boolean: true, help: 'overwrite the stored objects even if they changed since read (no resourceVersion check)' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const file = ctx.options.get('filename');
    if (!file) throw new UsageError('apply needs -f FILE (or -f - for stdin)');
    if (ctx.args.length > 0) throw new UsageError(`apply takes no arguments besides -f FILE, got "${ctx.args.join(' ')}"`);
    const prepared = prepareManifests(readManifestFile(file));
    for (const warning of prepared.warnings) ctx.note(warning);
    let results: ApplyResult[];
    try {
      results = await applyWithVersions(ctx.api, prepared.documents, ctx.options.has('force'), (line) => ctx.note(line));
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.details.length > 0) {
        throw new ManifestRejectedError(error.details.map((d) => prepared.detail(d)));
      }
      throw error;
    }
    for (const r of results) ctx.out(`${r.kind.toLowerCase()}/${r.name} ${r.action}`);
  },
};
