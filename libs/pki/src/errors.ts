/** A PKI operation failed on bad input (a file, a PEM block, a key that does not fit): the message says which. */
export class PkiError extends Error {
  override readonly name = 'PkiError';
}

/** What a check returns: the value, or why it was refused (for the caller to show, never a stack trace). */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export function refuse<T>(reason: string): Checked<T> {
  return { ok: false, reason };
}
