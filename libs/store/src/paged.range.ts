/**
 * Reads of many keys one bounded page at a time. etcd answers a range in one gRPC message, which
 * grows with the cluster (10,000 replicas are about 8 MiB) and which the client refuses past its
 * limit; so no read of a whole prefix goes in one response. Every page after the first is read at
 * the first one's revision (one consistent snapshot) and starts right after the last key received.
 * A page still too large for the client (objects of unusual size) is read again at half the size.
 */
import { Etcd3, GRPCResourceExhastedError, IKeyValue, Range } from 'etcd3';

/** Keys per page: a few hundred KiB of Tide objects. */
export const DEFAULT_PAGE_SIZE = 500;

export interface PageOptions {
  /** Keys per page at most (default DEFAULT_PAGE_SIZE). */
  pageSize?: number;
  /** Read at this revision (it must not be compacted); default: the revision of the first page. */
  revision?: number;
  /** Keys only, no values. */
  keysOnly?: boolean;
}

export interface KeyPage {
  kvs: IKeyValue[];
  /** The revision every page of this read is at. */
  revision: number;
}

/** The keys under `prefix`, page by page, all at one revision. */
export async function* rangePages(client: Etcd3, prefix: string, options: PageOptions = {}): AsyncGenerator<KeyPage> {
  const range = Range.prefix(prefix);
  let start: Buffer = range.start;
  let revision = options.revision ?? 0;
  let pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE_SIZE);
  for (;;) {
    let response;
    try {
      response = await client.kv.range({ key: start, range_end: range.end, limit: pageSize, revision, keys_only: options.keysOnly ?? false });
    } catch (error) {
      if (!(error instanceof GRPCResourceExhastedError) || pageSize === 1) throw error;
      pageSize = Math.ceil(pageSize / 2);
      continue;
    }
    revision ||= Number(response.header.revision);
    yield { kvs: response.kvs, revision };
    if (!response.more || response.kvs.length === 0) return;
    // The smallest key after the last one received.
    start = Buffer.concat([response.kvs[response.kvs.length - 1].key, Buffer.from([0])]);
  }
}

/** Every key under `prefix` at one revision, read in pages. */
export async function rangeAll(client: Etcd3, prefix: string, options: PageOptions = {}): Promise<KeyPage> {
  const kvs: IKeyValue[] = [];
  let revision = options.revision ?? 0;
  for await (const page of rangePages(client, prefix, options)) {
    for (const kv of page.kvs) kvs.push(kv);
    revision = page.revision;
  }
  return { kvs, revision };
}
