/**
 * `tsctl token create --role admin|edit|view [--namespace N] [--ttl 24h] [--description TEXT]`
 * (the token alone on stdout, so that `TOKEN=$(tsctl token create ...)` works; what it is goes to
 * stderr), `tsctl token ls [-o json|yaml]` (never a secret), `tsctl token revoke ID`.
 */
import { parseNamespace, parseRole, parseTtl, type TokenRecord } from '@tide/auth';
import { UsageError } from '../cli/args';
import { formatAge, formatStructured, formatTable, parseOutputFormat } from '../output/table';
import { Command, CommandContext } from './command';

const USAGE = 'tsctl token create --role admin|edit|view [--namespace N] [--ttl 24h] [--description TEXT] | tsctl token create --join [--ttl 1h] [--node NAME] [--uses N] | tsctl token ls [-o json|yaml] | tsctl token revoke ID';

type TokenInfo = Omit<TokenRecord, 'secretHash'>;

function checked<T>(result: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!result.ok) throw new UsageError(result.reason);
  return result.value;
}

/**
 * `tsctl token create --join`: a join token (an hour unless --ttl says otherwise) and, alone on the
 * last line, the command that joins a node with it: the token piped to the agent's stdin, the control
 * plane's gRPC address (the API's host with its gRPC port), the CA pinned by hash.
 */
async function createJoin(ctx: CommandContext): Promise<void> {
  if (ctx.options.has('role') || ctx.options.has('namespace')) throw new UsageError('--join: a join token has no --role or --namespace (it only joins a node)');
  const ttl = ctx.options.get('ttl');
  if (ttl !== undefined) checked(parseTtl(ttl));
  const node = ctx.options.get('node');
  const usesText = ctx.options.get('uses');
  const uses = usesText === undefined ? undefined : Number(usesText);
  if (uses !== undefined && (!Number.isInteger(uses) || uses < 1)) throw new UsageError(`--uses: expected a whole number of at least 1, got "${usesText}"`);
  const body = { kind: 'join', ...(ttl ? { ttl } : {}), ...(node ? { node } : {}), ...(uses ? { uses } : {}), ...(ctx.options.has('description') ? { description: ctx.options.get('description') } : {}) };
  const made = await ctx.api.request<{ token: string; record: TokenInfo; join: { caHash: string; grpcPort: number } }>('POST', '/api/v1/tokens', body);
  const api = new URL(ctx.api.server);
  const host = api.hostname.includes(':') ? `[${api.hostname}]` : api.hostname;
  const apiPort = Number(api.port || 443);
  const limits = [made.record.nodeName ? `node ${made.record.nodeName} only` : 'any node name', made.record.maxUses ? `${made.record.maxUses} use(s)` : 'any number of uses'];
  ctx.note(`join token ${made.record.id} created: ${limits.join(', ')}, expires ${made.record.expiresAt}. On the new machine, run:`);
  // The agent finds the API one port below gRPC unless told otherwise.
  const apiFlag = apiPort === made.join.grpcPort - 1 ? '' : ` --api-server ${host}:${apiPort}`;
  // The token goes in on stdin: a flag would stay in the agent's /proc/PID/cmdline, readable by every user, while it runs.
  ctx.out(`echo ${made.token} | node-agent --join-token-file - --control-plane ${host}:${made.join.grpcPort} --ca-hash ${made.join.caHash}${apiFlag}`);
}

async function create(ctx: CommandContext): Promise<void> {
  if (ctx.options.has('join')) return createJoin(ctx);
  const roleText = ctx.options.get('role');
  if (roleText === undefined) throw new UsageError(`token create needs --role admin, edit or view\nusage: ${USAGE}`);
  const role = checked(parseRole(roleText));
  const namespaceText = ctx.options.get('namespace');
  const namespace = namespaceText === undefined ? undefined : checked(parseNamespace(namespaceText));
  const ttl = ctx.options.get('ttl');
  if (ttl !== undefined) checked(parseTtl(ttl));
  if (role === 'admin' && namespace !== undefined) throw new UsageError('--namespace: the admin role is cluster-wide; use edit or view for one namespace');
  const body = { role, ...(namespace ? { namespace } : {}), ...(ttl ? { ttl } : {}), ...(ctx.options.has('description') ? { description: ctx.options.get('description') } : {}) };
  const made = await ctx.api.request<{ token: string; record: TokenInfo }>('POST', '/api/v1/tokens', body);
  const scope = made.record.namespace ? `namespace ${made.record.namespace}` : 'every namespace';
  ctx.note(`token ${made.record.id} created: role ${made.record.role}, ${scope}, ${made.record.expiresAt ? `expires ${made.record.expiresAt}` : 'does not expire'}; it is shown only now`);
  ctx.out(made.token);
}

async function list(ctx: CommandContext): Promise<void> {
  const format = parseOutputFormat(ctx.options.get('output'));
  const { items } = await ctx.api.get<{ items: TokenInfo[] }>('/api/v1/tokens');
  if (format === 'json' || format === 'yaml') return ctx.out(formatStructured({ items }, format));
  const now = Date.now();
  ctx.out(formatTable(['ID', 'KIND', 'ROLE', 'NAMESPACE', 'EXPIRES', 'AGE', 'DESCRIPTION'], items.map((t) => [
    t.id, t.kind, t.role ?? '', t.namespace ?? (t.kind === 'user' && t.role !== 'admin' ? '*' : ''),
    t.expiresAt ? (Date.parse(t.expiresAt) <= now ? 'expired' : t.expiresAt) : 'never', formatAge(t.createdAt, now), t.description ?? '',
  ])));
}

async function revoke(ctx: CommandContext): Promise<void> {
  const ids = ctx.args.slice(1);
  if (ids.length !== 1) throw new UsageError(`token revoke needs one ID (tsctl token ls lists them)\nusage: ${USAGE}`);
  const id = ids[0].replace(/^tide_([0-9a-f]{12})_.*$/, '$1'); // a whole token names its id too
  await ctx.api.request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
  ctx.out(`token ${id} revoked`);
}

export const tokenCommand: Command = {
  name: 'token',
  usage: USAGE,
  summary: 'create, list and revoke API tokens (roles admin, edit, view) and join tokens for nodes',
  options: [
    { long: 'role', help: 'admin, edit or view (create)' },
    { long: 'join', boolean: true, help: 'a join token for a node agent; prints the node-agent command (create)' },
    { long: 'node', help: 'the one node name the join token may join as (create --join)' },
    { long: 'uses', help: 'how many nodes may join with the token (create --join; default: any until it expires)' },
    { long: 'namespace', short: 'n', help: 'the one namespace an edit or view token reaches (create; default: all)' },
    { long: 'ttl', help: 'lifetime, e.g. 30m, 24h, 7d (create; default: no expiry, 1h for --join)' },
    { long: 'description', help: 'a note shown by token ls (create)' },
    { long: 'output', short: 'o', help: 'json or yaml (ls)' },
  ],
  async run(ctx) {
    const [action] = ctx.args;
    if (action === 'create' && ctx.args.length === 1) return create(ctx);
    if ((action === 'ls' || action === 'list') && ctx.args.length === 1) return list(ctx);
    if (action === 'revoke') return revoke(ctx);
    throw new UsageError(`expected token create, ls or revoke${action ? `, got "${ctx.args.join(' ')}"` : ''}\nusage: ${USAGE}`);
  },
};
