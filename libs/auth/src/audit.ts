import type { Decision } from './decision';
import { READ_VERBS, type ResourceRequest, type Verb } from './authorize';
import { subjectName, type Subject } from './subjects';

/** One audit log entry: who did what, when, and how it ended. Never a credential or a request body. */
export interface AuditRecord {
  time: string;
  /** `token:<id>`, a certificate's name, `system:node:<name>`, or `anonymous`. */
  user: string;
  verb: Verb;
  resource: string;
  namespace?: string;
  name?: string;
  /** unauthenticated (401) and forbidden (403) come from the authorizer; succeeded and failed from the answer's status. */
  result: 'succeeded' | 'failed' | 'forbidden' | 'unauthenticated';
  status: number;
  reason?: string;
  /** The caller's address, as the server saw it. */
  source?: string;
}

/** Mutating requests are audited; reads are not (they change nothing and would drown the log). */
export function isMutating(verb: Verb): boolean {
  return !READ_VERBS.has(verb);
}

export function auditRecord(entry: {
  subject: Subject | undefined;
  request: ResourceRequest;
  decision: Decision;
  /** The status answered; for a refused request, the decision's. */
  status?: number;
  reason?: string;
  source?: string;
  time?: Date;
}): AuditRecord {
  const { decision, request } = entry;
  const status = decision.allowed ? (entry.status ?? 200) : decision.status;
  const result: AuditRecord['result'] = decision.allowed
    ? (status < 400 ? 'succeeded' : 'failed')
    : (decision.status === 401 ? 'unauthenticated' : 'forbidden');
  const reason = decision.allowed ? entry.reason : decision.reason;
  return {
    time: (entry.time ?? new Date()).toISOString(),
    user: entry.subject ? subjectName(entry.subject) : 'anonymous',
    verb: request.verb,
    resource: request.resource,
    ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
    ...(request.name === undefined ? {} : { name: request.name }),
    result,
    status,
    ...(reason === undefined ? {} : { reason }),
    ...(entry.source === undefined ? {} : { source: entry.source }),
  };
}

const KEY_ORDER: ReadonlyArray<keyof AuditRecord> = ['time', 'user', 'verb', 'resource', 'namespace', 'name', 'result', 'status', 'reason', 'source'];

/**
 * One JSON line (newline included), keys in a fixed order so that lines diff and grep well. JSON
 * escapes every control character, so a name or reason with a newline cannot forge a second entry.
 */
export function formatAuditLine(record: AuditRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (record[key] !== undefined) ordered[key] = record[key];
  return `${JSON.stringify(ordered)}\n`;
}
