/** `tsctl version [--client]`: this tsctl's version and the API server's. */
import { TIDE_VERSION } from '@tide/api';
import { UsageError } from '../cli/args';
import { Command, CommandContext } from './command';

export const versionCommand: Command = {
  name: 'version',
  usage: 'tsctl version [--client]',
  summary: 'print the client\'s and the server\'s version',
  options: [{ long: 'client', boolean: true, help: 'the client\'s only (no server needed)' }],
  async run(ctx: CommandContext): Promise<void> {
    if (ctx.args.length > 0) throw new UsageError(`version takes no arguments, got "${ctx.args.join(' ')}"`);
    ctx.out(`Client Version: ${TIDE_VERSION}`);
    if (ctx.options.has('client')) return;
    // Printed before asking: with the server unreachable the client's version is still shown, then the error.
    const server = await ctx.api.get<{ version: string }>('/api/v1/version');
    ctx.out(`Server Version: ${server.version} (${ctx.api.server})`);
  },
};
