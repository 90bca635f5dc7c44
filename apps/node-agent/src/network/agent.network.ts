/**
 * The agent's bridge network: set up once the control plane gave the node its pod CIDR (at every
 * registration, idempotently), routes to other nodes' slices kept in step with the assignments, and
 * a record in the state dir that `node-agent cleanup` reads to take it all down again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeSlice } from '@tide/api';
import {
  BridgeSettings, NetworkError, bridgeNameFor, bridgeSettings, setUpNodeNetwork, syncPeerRoutes, tearDownNodeNetwork,
} from '@tide/runtime';

const RECORD_FILE = 'network.json';

export class AgentNetwork {
  private settings?: BridgeSettings;
  /** Why bridge containers cannot start, while they cannot. */
  private problem = 'bridge networking is not set up yet: the node gets its pod CIDR when it registers with the control plane';
  /** Set-ups and route changes one at a time: each lists iptables rules and routes, then changes them. */
  private chain: Promise<void> = Promise.resolve();
  private peersText = '';

  constructor(
    private readonly stateDir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** For the runtime: the settings, or a NetworkError saying why a bridge container cannot start. */
  current(): BridgeSettings {
    if (!this.settings) throw new NetworkError(this.problem);
    return this.settings;
  }

  /** The settings once the bridge is up, else undefined. */
  settingsIfReady(): BridgeSettings | undefined {
    return this.settings;
  }

  /** After each registration. A failure is logged and kept: host-network replicas still run. */
  configure(podCidr: string | undefined, clusterCidr: string | undefined): Promise<void> {
    return this.serially(async () => {
      if (!podCidr || !clusterCidr) {
        this.problem = 'the control plane gave this node no pod CIDR (is it older than bridge networking?)';
        return this.log(`warning: ${this.problem}`);
      }
      const settings = bridgeSettings(bridgeNameFor(this.stateDir), podCidr, clusterCidr);
      try {
        await setUpNodeNetwork(settings);
      } catch (error) {
        this.settings = undefined;
        this.problem = `bridge networking could not be set up: ${(error as Error).message}`;
        return this.log(`warning: ${this.problem}`);
      }
      fs.writeFileSync(path.join(this.stateDir, RECORD_FILE), JSON.stringify(settings), { mode: 0o600 });
      if (this.settings?.subnet !== settings.subnet) this.log(`bridge ${settings.bridge} at ${settings.gateway} for pod CIDR ${podCidr}`);
      this.settings = settings;
      this.peersText = ''; // routes are checked again against the next assignments
    });
  }

  /** With every assignments message: routes to the other nodes' slices, when they changed. */
  routeTo(nodes: NodeSlice[]): Promise<void> {
    return this.serially(async () => {
      const settings = this.settings;
      const peers = nodes.map((n) => ({ address: n.address, podCIDR: n.podCIDR }));
      const text = JSON.stringify(peers);
      if (!settings || text === this.peersText) return;
      try {
        await syncPeerRoutes(settings.clusterCidr, peers);
        this.peersText = text;
      } catch (error) {
        this.log(`warning: cannot route to other nodes' slices: ${(error as Error).message}`);
      }
    });
  }

  private serially(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step, step);
    return this.chain;
  }
}

/** For `node-agent cleanup`: the bridge, its rules and routes of a state dir, whether or not they were recorded. */
export async function tearDownAgentNetwork(stateDir: string): Promise<string> {
  let recorded: Partial<BridgeSettings> = {};
  try {
    recorded = JSON.parse(fs.readFileSync(path.join(stateDir, RECORD_FILE), 'utf8')) as BridgeSettings;
  } catch {
    /* never set up, or an agent from before bridge networking: the name is derived all the same */
  }
  const bridge = recorded.bridge ?? bridgeNameFor(stateDir);
  await tearDownNodeNetwork(bridge, recorded.clusterCidr);
  fs.rmSync(path.join(stateDir, RECORD_FILE), { force: true });
  return bridge;
}
