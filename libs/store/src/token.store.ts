/**
 * Bearer and join tokens in etcd: `/tide/v1/tokens/<id>` holds the TokenRecord (libs/auth), never
 * the secret, only its hash. Every instance reads the record per request, so a revoked token stops
 * working on every control plane at once.
 */
import { Etcd3 } from 'etcd3';
import type { TokenRecord } from '@tide/auth';
import { AlreadyExistsError } from './errors';
import { translateEtcdError } from './etcd.errors';
import type { EtcdHealth } from './etcd.health';
import { ROOT } from './keys';

export const TOKENS_PREFIX = `${ROOT}tokens/`;

export function tokenKey(id: string): string {
  return `${TOKENS_PREFIX}${id}`;
}

export class TokenStore {
  /** `health`: while etcd is unreachable a token cannot be checked: `get` fails at once (503) instead of at its deadline. */
  constructor(private readonly client: Etcd3, private readonly health?: EtcdHealth) {}

  async get(id: string): Promise<TokenRecord | undefined> {
    this.health?.assertReachable();
    const text = await this.client.get(tokenKey(id)).string().catch((error: unknown) => {
      throw translateEtcdError(error);
    });
    return text === null ? undefined : (JSON.parse(text) as TokenRecord);
  }

  /** Stores a new record; an id that exists already (a one in 2^48 draw) is refused, never overwritten. */
  async create(record: TokenRecord): Promise<void> {
    const key = tokenKey(record.id);
    const result = await this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(JSON.stringify(record))).commit();
    if (!result.succeeded) throw new AlreadyExistsError(`token ${record.id} exists already`);
  }

  /** Every record, by id. */
  async list(): Promise<TokenRecord[]> {
    const response = await this.client.getAll().prefix(TOKENS_PREFIX).exec();
    return response.kvs.map((kv) => JSON.parse(kv.value.toString()) as TokenRecord).sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Rewrites a record through `use` with compare-and-swap on its mod revision (a join token's count
   * of uses: two joins at once cannot both take its last use). The refusal of `use`, or "unknown".
   */
  async consume(id: string, use: (record: TokenRecord) => { ok: true; value: TokenRecord } | { ok: false; reason: string }): Promise<{ ok: true; value: TokenRecord } | { ok: false; reason: string }> {
    const key = tokenKey(id);
    for (;;) {
      const kv = (await this.client.get(key).exec()).kvs[0];
      if (!kv) return { ok: false, reason: `unknown or revoked token ${id}` };
      const next = use(JSON.parse(kv.value.toString()) as TokenRecord);
      if (!next.ok) return next;
      const result = await this.client.if(key, 'Mod', '==', String(kv.mod_revision)).then(this.client.put(key).value(JSON.stringify(next.value))).commit();
      if (result.succeeded) return next;
    }
  }

  /** Revokes: the record goes, so the token authenticates nowhere. False when there was none. */
  async delete(id: string): Promise<boolean> {
    const response = await this.client.delete().key(tokenKey(id)).exec();
    return Number(response.deleted) > 0;
  }
}
