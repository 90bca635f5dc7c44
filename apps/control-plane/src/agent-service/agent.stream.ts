/**
 * A server stream to one agent as the publishers see it: they write domain values, and the gRPC
 * adapter (agent.grpc.ts) encodes each one for the wire.
 */
export interface AgentStream<T> {
  /** The node whose agent opened the stream. */
  readonly node: string;
  /** The agent keeps the previous message's node list: a message may leave an unchanged one out (WatchAssignments). */
  readonly nodesWhenChanged?: boolean;
  write(value: T): unknown;
  end(): void;
  on(event: 'cancelled' | 'close', listener: () => void): unknown;
}
