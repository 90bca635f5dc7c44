/**
 * etcd3's errors as the store's: what a caller (the API's error filter, a controller) can act on
 * without knowing gRPC codes.
 */
import { BrokenCircuitError } from 'cockatiel';
import { GRPCDeadlineExceededError, GRPCResourceExhastedError, GRPCUnavailableError } from 'etcd3';
import { ObjectTooLargeError, StoreError, StoreNoSpaceError, StoreUnavailableError } from './errors';
import { ETCD_MAX_REQUEST_BYTES, describeBytes } from './txn.budget';

/** UNAVAILABLE before anything was sent: no connection, or one refused. */
const NOT_SENT = /No connection established|ECONNREFUSED|Failed to connect|failed to connect/;
/** What etcd answers when its NOSPACE alarm is raised. */
const NO_SPACE = /database space exceeded|NOSPACE/i;

/**
 * The store error an etcd failure means, or the error itself when it means nothing more specific.
 * A deadline is `unknown` for writes: the request reached etcd's socket and may still be applied.
 */
export function translateEtcdError(error: unknown): unknown {
  if (error instanceof StoreError || !(error instanceof Error)) return error;
  if (NO_SPACE.test(error.message) || error instanceof GRPCResourceExhastedError) {
    return new StoreNoSpaceError(`etcd is out of space (NOSPACE alarm: its database reached --quota-backend-bytes): writes are refused until space is freed; deletes still work (${error.message})`);
  }
  if (/request is too large/.test(error.message)) {
    return new ObjectTooLargeError(`etcd refused the request as larger than its --max-request-bytes (${describeBytes(ETCD_MAX_REQUEST_BYTES)} by default): ${error.message}`);
  }
  if (error instanceof GRPCDeadlineExceededError) {
    return new StoreUnavailableError(`etcd did not answer in time (${error.message})`, 'unknown');
  }
  if (error instanceof BrokenCircuitError || (error instanceof GRPCUnavailableError && NOT_SENT.test(error.message))) {
    return new StoreUnavailableError(`etcd is unreachable (${error.message})`, 'not-applied');
  }
  if (error instanceof GRPCUnavailableError) {
    // The connection broke with the request on it: etcd may have committed it before.
    return new StoreUnavailableError(`etcd connection lost (${error.message})`, 'unknown');
  }
  return error;
}
