/**
 * `tsctl diff -f FILE|-`: what `tsctl apply -f` of the file would change, as the API computes it
 * (same validation, defaulting and kept fields as apply; nothing written). Prints a unified diff per
 * object that would change; exit 0 when nothing would, 1 when something would, 2 on error, as
 * `kubectl diff` does.
 */
import { ApiError } from '../api/api.client';
import { UsageError } from '../cli/args';
import { prepareManifests } from '../manifest/kube.convert';
import { ManifestRejectedError, readManifestFile } from '../manifest/manifest';
import { changedPathsNote } from './apply.command';
import { Command, CommandContext } from './command';

export interface DiffResult {
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'changed' | 'unchanged';
  diff?: string;
  /** A changed ConfigMap or Secret: the paths that would change (a Secret's values never come). */
  changedPaths?: string[];
}

/** Exit codes as kubectl diff's: 1 means "there are differences", so an error must be above it. */
export const DIFF_EXIT = { same: 0, different: 1, error: 2 } as const;

export const diffCommand: Command = {
  name: 'diff',
  usage: 'tsctl diff -f FILE|-',
  summary: 'show what apply -f FILE would change (exit 0: nothing, 1: differences, 2: error)',
  options: [{ long: 'filename', short: 'f', help: 'YAML file, or - for stdin' }],
  errorExitCode: DIFF_EXIT.error,
  async run(ctx: CommandContext): Promise<number> {
    const file = ctx.options.get('filename');
    if (!file) throw new UsageError('diff needs -f FILE (or -f - for stdin)');
    if (ctx.args.length > 0) throw new UsageError(`diff takes no arguments besides -f FILE, got "${ctx.args.join(' ')}"`);
    const prepared = prepareManifests(readManifestFile(file), 'nothing was compared');
    for (const warning of prepared.warnings) ctx.note(warning);
    let answer: { results: DiffResult[]; changed: boolean };
    try {
      answer = await ctx.api.request('POST', '/api/v1/diff', { documents: prepared.documents });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.details.length > 0) {
        throw new ManifestRejectedError(error.details.map((d) => prepared.detail(d)), 'nothing was compared');
      }
      throw error;
    }
    for (const line of diffLines(answer.results)) ctx.out(line);
    return answer.changed ? DIFF_EXIT.different : DIFF_EXIT.same;
  },
};

/** The diff of each object that would change, headed by what would happen to it. */
export function diffLines(results: DiffResult[]): string[] {
  return results.filter((r) => r.action !== 'unchanged' && r.diff)
    .map((r) => `# ${r.kind.toLowerCase()}/${r.name} (namespace ${r.namespace}) ${r.action}${changedPathsNote(r.changedPaths)}\n${r.diff}`);
}
