/** The difference between the replicas desired on this node and the containers it has. */

export interface ReplicaSetDiff {
  /** Desired, no container yet. */
  toStart: string[];
  /** A container, no longer desired. */
  toStop: string[];
  /** Desired and has a container. */
  kept: string[];
}

export function diffDesired(desired: Iterable<string>, actual: Iterable<string>): ReplicaSetDiff {
  const want = new Set(desired);
  const have = new Set(actual);
  return {
    toStart: [...want].filter((key) => !have.has(key)).sort(),
    toStop: [...have].filter((key) => !want.has(key)).sort(),
    kept: [...want].filter((key) => have.has(key)).sort(),
  };
}
