/**
 * Every failure of the registry client is a RegistryError whose message a user can act on: it names
 * the registry, the repository or blob, and what came back (the registry's own error text when it sent one).
 */
export type RegistryErrorCode =
  /** A reference, manifest or answer that is not what the distribution spec allows. */
  | 'Invalid'
  /** No credentials, or the registry (or its token service) refused them. */
  | 'Unauthorized'
  /** Authenticated, but not allowed (403, or a token without the scope asked for). */
  | 'Denied'
  | 'NotFound'
  /** A manifest or blob over the caller's size cap. */
  | 'TooLarge'
  /** The bytes received do not hash to the digest asked for. */
  | 'DigestMismatch'
  /** No answer, or no progress, within the deadline. */
  | 'Timeout'
  /** Could not connect (refused, DNS, TLS). */
  | 'Unreachable'
  /** Anything else the registry answered (5xx, unexpected status). */
  | 'Failed';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** The HTTP status when the registry answered; 0 otherwise. */
    readonly status = 0,
  ) {
    super(message);
  }
}

/** The distribution spec's error body: `{"errors":[{"code","message","detail"}]}`, as one line. */
export function registryErrorText(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const lines = (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    return lines.length > 0 ? lines.join('; ') : undefined;
  } catch {
    return undefined;
  }
}
