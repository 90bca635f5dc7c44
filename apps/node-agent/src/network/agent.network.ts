/**
 * The agent's bridge network: set up once the control plane gave the node its pod CIDR (at every
 * registration, idempotently), the way to other nodes' slices (host-gw routes, or the VXLAN overlay
 * when the cluster says so) kept in step with the node list of the assignments, and a record in the
 * state dir that `node-agent cleanup` reads to take it all down again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeSlice, PodNetworkMode, cidrContains, parseCidr, parseIPv4 } from '@tide/api';
import {
  BridgeSettings, NetworkError, bridgeNameFor, bridgeSettings, isLocalAddress, setUpNodeNetwork, setUpVxlan, syncPeerRoutes, syncVxlanPeers,
  tearDownNodeNetwork, tearDownVxlan, vxlanNameFor,
  isNoSpace, writeFileAtomic,
} from '@tide/runtime';

const RECORD_FILE = 'network.json';

export class AgentNetwork {
  private settings?: BridgeSettings;
  /** Why bridge containers cannot start, while they cannot. */
  private problem = 'bridge networking is not set up yet: the node gets its pod CIDR when it registers with the control plane';
  /** Set-ups and route changes one at a time: each lists iptables rules and routes, then changes them. */
  private chain: Promise<void> = Promise.resolve();
  private peersText = '';
  /** The VXLAN device, when the cluster's pod network is vxlan and this node has peers on other machines. */
  private vxlanDevice?: string;

  constructor(
    private readonly stateDir: string,
    /** The node's address (`--address`): where VXLAN tunnels end. */
    private readonly address: string,
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
  configure(podCidr: string | undefined, clusterCidr: string | undefined, mode: PodNetworkMode = 'host-gw'): Promise<void> {
    return this.serially(async () => {
      if (!podCidr || !clusterCidr) {
        this.problem = 'the control plane gave this node no pod CIDR (is it older than bridge networking?)';
        return this.log(`warning: ${this.problem}`);
      }
      const settings = bridgeSettings(bridgeNameFor(this.stateDir), podCidr, clusterCidr);
      try {
        await setUpNodeNetwork(settings);
        await this.configureOverlay(settings, mode);
      } catch (error) {
        this.settings = undefined;
        this.problem = `bridge networking could not be set up: ${(error as Error).message}`;
        return this.log(`warning: ${this.problem}`);
      }
      this.record(settings);
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
        if (this.vxlanDevice) {
          const cluster = parseCidr(settings.clusterCidr);
          const inCluster = (dst: string) => cidrContains(cluster, parseIPv4(dst.split('/')[0]));
          await syncVxlanPeers(this.vxlanDevice, inCluster, peers.filter((p) => !isLocalAddress(p.address)));
        } else {
          await syncPeerRoutes(settings.clusterCidr, peers);
        }
        this.peersText = text;
      } catch (error) {
        this.log(`warning: cannot route to other nodes' slices: ${(error as Error).message}`);
      }
    });
  }

  /**
   * VXLAN needs an address of a real interface to end tunnels at: agents sharing one machine's
   * network (`tsctl up --hosts loopback`, 127.0.1.x) reach each other's bridges directly and need
   * no overlay, so they keep host-gw, which installs no route for local peers.
   */
  private async configureOverlay(settings: BridgeSettings, mode: PodNetworkMode): Promise<void> {
    const device = vxlanNameFor(settings.bridge);
    const overlay = mode === 'vxlan' && !cidrContains(parseCidr('127.0.0.0/8'), parseIPv4(this.address));
    if (!overlay) {
      if (this.vxlanDevice) await tearDownVxlan(device);
      this.vxlanDevice = undefined;
      return;
    }
    await setUpVxlan({ device, localAddress: this.address, subnet: settings.subnet });
    if (this.vxlanDevice !== device) this.log(`VXLAN overlay on ${device} from ${this.address}`);
    this.vxlanDevice = device;
  }

  /** What `node-agent cleanup` reads to find the bridge; a full disk keeps the previous record and is only logged. */
  private record(settings: BridgeSettings): void {
    try {
      writeFileAtomic(path.join(this.stateDir, RECORD_FILE), JSON.stringify(settings));
    } catch (error) {
      this.log(`warning: cannot record the bridge in ${RECORD_FILE}${isNoSpace(error) ? ' (the disk is full)' : ''}: ${(error as Error).message}`);
    }
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
