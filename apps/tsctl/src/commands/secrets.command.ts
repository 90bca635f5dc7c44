/**
 * `tsctl secrets reencrypt` (admin): the control plane reads its key file again (after
 * `control-plane rotate-encryption-key` put a new key first) and rewrites every Secret an older
 * key sealed with the new one.
 */
import { UsageError } from '../cli/args';
import { Command, CommandContext } from './command';

const USAGE = 'tsctl secrets reencrypt';

export const secretsCommand: Command = {
  name: 'secrets',
  usage: USAGE,
  summary: 'reencrypt: seal every Secret with the key file\'s newest key (after a key rotation)',
  options: [],
  async run(ctx: CommandContext): Promise<void> {
    if (ctx.args[0] !== 'reencrypt' || ctx.args.length > 1) throw new UsageError(`usage: ${USAGE}`);
    const done = await ctx.api.request<{ writer: string; rewritten: number; current: number }>('POST', '/api/v1/secrets/reencrypt', {});
    ctx.out(`secrets sealed with key ${done.writer}: ${done.rewritten} rewritten, ${done.current} already were`);
  },
};
