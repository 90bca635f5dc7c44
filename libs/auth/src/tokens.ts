import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { unauthenticated, type Parsed, type Refusal } from './decision';
import { isNodeName } from './identity.names';
import type { Role, Subject } from './subjects';

/** `user`: API access with a role. `join`: only enough to get a node certificate (kubeadm's bootstrap token). */
export type TokenKind = 'user' | 'join';

/** What is stored for a token (in etcd, by the control plane): never the secret, only its hash. */
export interface TokenRecord {
  id: string;
  kind: TokenKind;
  /** `sha256:` + hex SHA-256 of the secret part. */
  secretHash: string;
  createdAt: string;
  expiresAt?: string;
  description?: string;
  /** user tokens */
  role?: Role;
  /** user tokens with role edit or view: the only namespace they reach. */
  namespace?: string;
  /** join tokens: the one node name that may join with it, when bound. */
  nodeName?: string;
  /** join tokens: how many nodes may join with it (default: any number until it expires). */
  maxUses?: number;
  uses?: number;
}

export interface NewToken {
  /** `tide_<id>_<secret>`: shown once, to the one who created it. */
  token: string;
  record: TokenRecord;
}

export type RandomBytes = (size: number) => Uint8Array;

export const TOKEN_PREFIX = 'tide';
/** A join token is short-lived: an hour unless --ttl says otherwise. */
export const DEFAULT_JOIN_TTL_MS = 3_600_000;
const ID_BYTES = 6;
const SECRET_BYTES = 32;
// id: 12 hex digits; secret: 43 base64url characters (32 bytes); the secret may contain '_'.
const TOKEN = /^tide_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

function newToken(record: Omit<TokenRecord, 'id' | 'secretHash'>, random: RandomBytes): NewToken {
  const id = Buffer.from(random(ID_BYTES)).toString('hex');
  const secret = Buffer.from(random(SECRET_BYTES)).toString('base64url');
  return { token: `${TOKEN_PREFIX}_${id}_${secret}`, record: { id, secretHash: hashSecret(secret), ...record } };
}

function expiry(now: Date, ttlMs: number | undefined): { createdAt: string; expiresAt?: string } {
  return { createdAt: now.toISOString(), ...(ttlMs === undefined ? {} : { expiresAt: new Date(now.getTime() + ttlMs).toISOString() }) };
}

/** `tsctl token create --role R [--namespace N] [--ttl D]`. admin is cluster-wide: no namespace. */
export function createUserToken(
  options: { role: Role; namespace?: string; ttlMs?: number; description?: string; now?: Date },
  random: RandomBytes = randomBytes,
): Parsed<NewToken> {
  if (options.role === 'admin' && options.namespace !== undefined) {
    return { ok: false, reason: '--namespace: the admin role is cluster-wide; use edit or view for one namespace' };
  }
  const record = {
    kind: 'user' as const,
    role: options.role,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.description === undefined ? {} : { description: options.description }),
    ...expiry(options.now ?? new Date(), options.ttlMs),
  };
  return { ok: true, value: newToken(record, random) };
}

/** `tsctl token create --join [--ttl D] [--node NAME] [--uses N]`: always expires (an hour by default). */
export function createJoinToken(
  options: { ttlMs?: number; nodeName?: string; maxUses?: number; description?: string; now?: Date } = {},
  random: RandomBytes = randomBytes,
): Parsed<NewToken> {
  if (options.nodeName !== undefined && !isNodeName(options.nodeName)) {
    return { ok: false, reason: `--node: "${options.nodeName}" is not a node name (lower-case letters, digits, '-' and '.')` };
  }
  if (options.maxUses !== undefined && (!Number.isInteger(options.maxUses) || options.maxUses < 1)) {
    return { ok: false, reason: '--uses: must be a whole number of at least 1' };
  }
  const record = {
    kind: 'join' as const,
    ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }),
    ...(options.maxUses === undefined ? {} : { maxUses: options.maxUses, uses: 0 }),
    ...(options.description === undefined ? {} : { description: options.description }),
    ...expiry(options.now ?? new Date(), options.ttlMs ?? DEFAULT_JOIN_TTL_MS),
  };
  return { ok: true, value: newToken(record, random) };
}

export interface PresentedToken {
  id: string;
  secret: string;
}

/** Splits `tide_<id>_<secret>`; the id names the record to look up, the secret is only ever hashed. */
export function parseToken(text: string): PresentedToken | undefined {
  const match = TOKEN.exec(text);
  return match ? { id: match[1], secret: match[2] } : undefined;
}

/** The token of an `Authorization: Bearer …` header, or a 401 saying what is missing or wrong. */
export function parseAuthorization(header: string | undefined): PresentedToken | Refusal {
  if (header === undefined || header.trim() === '') return unauthenticated('no credentials: send "Authorization: Bearer <token>" or a client certificate');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return unauthenticated('the Authorization header must be "Bearer <token>"');
  return parseToken(match[1]) ?? unauthenticated('malformed token: expected tide_<id>_<secret>');
}

export function isExpired(record: TokenRecord, now: Date): boolean {
  return record.expiresAt !== undefined && now.getTime() >= Date.parse(record.expiresAt);
}

/**
 * The subject a presented token stands for, given the record stored under its id (undefined when
 * there is none: never created, or revoked). Every failure is a 401; the message never says whether
 * the id or the secret was wrong beyond "unknown or revoked".
 */
export function authenticateToken(presented: PresentedToken, record: TokenRecord | undefined, now: Date = new Date()): Subject | Refusal {
  if (!record || record.id !== presented.id) return unauthenticated(`unknown or revoked token ${presented.id}`);
  const expected = Buffer.from(record.secretHash, 'utf8');
  const actual = Buffer.from(hashSecret(presented.secret), 'utf8');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return unauthenticated('invalid token');
  if (isExpired(record, now)) return unauthenticated(`token ${record.id} expired at ${record.expiresAt}`);
  if (record.kind === 'join') return { kind: 'join', tokenId: record.id, ...(record.nodeName === undefined ? {} : { nodeName: record.nodeName }) };
  if (!record.role) return unauthenticated(`token ${record.id} has no role`);
  return { kind: 'user', name: `token:${record.id}`, role: record.role, ...(record.namespace === undefined ? {} : { namespace: record.namespace }) };
}

/**
 * One use of a join token by a node: the token must still be valid, bound (if at all) to this node
 * name, and have uses left. Returns the record to write back (compare-and-swap, so two joins cannot
 * both take the last use).
 */
export function useJoinToken(record: TokenRecord, nodeName: string, now: Date = new Date()): Parsed<TokenRecord> {
  if (record.kind !== 'join') return { ok: false, reason: `token ${record.id} is not a join token` };
  if (isExpired(record, now)) return { ok: false, reason: `join token ${record.id} expired at ${record.expiresAt}` };
  if (record.nodeName !== undefined && record.nodeName !== nodeName) {
    return { ok: false, reason: `join token ${record.id} is for node "${record.nodeName}", not "${nodeName}"` };
  }
  const uses = record.uses ?? 0;
  if (record.maxUses !== undefined && uses >= record.maxUses) {
    return { ok: false, reason: `join token ${record.id} has been used ${uses} time(s), its limit` };
  }
  return { ok: true, value: { ...record, uses: uses + 1 } };
}

const TOKEN_USER_NAME = /^token:([0-9a-f]{12})$/;

/** The token a user's name stands for (`token:<id>`): a user certificate issued to it is bound to it. */
export function tokenIdOfUser(name: string): string | undefined {
  return TOKEN_USER_NAME.exec(name)?.[1];
}

/**
 * A user certificate issued to a token holder (`tsctl docker-host --tcp`) is honoured only while the
 * token is: `tsctl token revoke` ends the certificate too, which a certificate alone could not do.
 */
export function checkTokenCertificate(subject: Subject, record: TokenRecord | undefined, now: Date = new Date()): Subject | Refusal {
  if (subject.kind !== 'user') return subject;
  const id = tokenIdOfUser(subject.name);
  if (id === undefined) return subject;
  if (!record || record.id !== id || record.kind !== 'user') return unauthenticated(`the client certificate of token ${id}: the token is revoked or unknown`);
  if (isExpired(record, now)) return unauthenticated(`the client certificate of token ${id}: the token expired at ${record.expiresAt}`);
  return subject;
}
