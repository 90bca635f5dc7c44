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
