/** `tsctl convert -f FILE|-`: prints the tide/v1 objects of a file of Kubernetes manifests; sends nothing. */
import { UsageError } from '../cli/args';
import { prepareManifests } from '../manifest/kube.convert';
import { readManifestFile } from '../manifest/manifest';
import { formatStructured, parseOutputFormat } from '../output/table';
import { Command, CommandContext } from './command';

export const convertCommand: Command = {
  name: 'convert',
  usage: 'tsctl convert -f FILE|- [-o yaml|json]',
  summary: 'print the Tide objects for the Kubernetes manifests in FILE (warnings on stderr; refused fields listed, exit 1)',
  options: [
    { long: 'filename', short: 'f', help: 'YAML file, or - for stdin' },
    { long: 'output', short: 'o', help: 'yaml (default) or json' },
  ],
  async run(ctx: CommandContext): Promise<void> {
    const file = ctx.options.get('filename');
    if (!file) throw new UsageError('convert needs -f FILE (or -f - for stdin)');
    if (ctx.args.length > 0) throw new UsageError(`convert takes no arguments besides -f FILE, got "${ctx.args.join(' ')}"`);
    const format = parseOutputFormat(ctx.options.get('output') ?? 'yaml');
    if (format !== 'yaml' && format !== 'json') throw new UsageError('convert prints -o yaml or -o json');
    const prepared = prepareManifests(readManifestFile(file), 'nothing was converted', true);
    for (const warning of prepared.warnings) ctx.note(warning);
    if (format === 'json') return ctx.out(formatStructured({ items: prepared.documents }, 'json'));
    // One YAML document per object, as `tsctl apply -f` reads them back.
    ctx.out(prepared.documents.map((doc) => formatStructured(doc, 'yaml')).join('\n---\n'));
  },
};
