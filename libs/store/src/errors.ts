export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The object changed since it was read (its resourceVersion no longer matches). */
export class ConflictError extends StoreError {}

export class AlreadyExistsError extends StoreError {}

export class NotFoundError extends StoreError {}

/** An object (or a transaction) over what etcd takes in one request: refused before it is sent. */
export class ObjectTooLargeError extends StoreError {}

/**
 * etcd could not be reached or did not answer in time. `outcome` says what became of a write:
 * `not-applied` (never sent, or refused before etcd took it: retrying is safe), `unknown` (sent,
 * and etcd did not answer before the deadline: it may still apply it; read before retrying).
 */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, readonly outcome: 'not-applied' | 'unknown') {
    super(message);
  }
}

/**
 * etcd raised its NOSPACE alarm (the backend reached `--quota-backend-bytes`): it refuses every
 * write but deletes until space is freed and the alarm disarmed (etcd.maintenance.ts does both).
 */
export class StoreNoSpaceError extends StoreError {}
