/**
 * What a chaos scenario is (e2e/src/bench/chaos.bench.ts runs them): the cluster it needs, and the
 * fault it injects into a running cluster under load. The suite (chaos.run.ts) does the rest the same
 * way for every scenario: the workload before, the checks after. A scenario adds itself to the
 * registry (scenarios.ts) with one line.
 */
import type { TestCluster } from '../../harness';
import type { WriteStream } from './write.stream';

/** The cluster a scenario asks for: `tsctl up` flags beyond the suite's own. */
export interface ChaosClusterNeeds {
  upFlags?: string[];
}

export interface ChaosContext {
  cluster: TestCluster;
  /** The API servers a client may use, the leader's first. */
  servers: string[];
  /** The writer of the steady stream of applies and scales; a scenario may add writes of its own through it. */
  writes: WriteStream;
  /** Progress lines (not printed with --json). */
  log(line: string): void;
  /** Ports kept for the scenario's own processes, inside the bench's range. */
  spare: { apiPort: number; grpcPort: number };
}

export interface ChaosScenario {
  name: string;
  /** One line: the fault, as docs/BENCHMARKS.md shows it. */
  fault: string;
  /** True when the fault takes serving replicas away, so failed requests are expected. */
  takesServingReplicas: boolean;
  needs: ChaosClusterNeeds;
  /** Before the workload starts: e.g. a second control plane (add its URL to `servers`). */
  prepare?(context: ChaosContext): Promise<void>;
  /**
   * Injects the fault and returns once the fault is over (the process restarted, etcd back, space
   * freed...): recovery is measured from then, or from `faultOverAt` (performance.now()) when the
   * fault ended before the scenario returned. `figures` go into the result as they are.
   */
  inject(context: ChaosContext): Promise<InjectResult | void>;
}

export interface InjectResult {
  faultOverAt?: number;
  figures?: Record<string, number | string>;
  /**
   * What the scenario goes on doing after the fault (a storm of writes that outlasts a killed
   * member): recovery is measured while it runs, and the checks wait for it. Resolves to more figures.
   */
  continuing?: Promise<Record<string, number | string>>;
}
