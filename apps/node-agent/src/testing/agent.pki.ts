/**
 * Certificates for the agent's HTTPS tests, made with libs/pki in a temporary dir: a cluster CA, the
 * agent's serving certificate for 127.0.0.1, and client certificates of the control plane, a node,
 * an administrator, and one from another CA. `fetch` calls the agent as one of them (or none).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Agent } from 'undici';
import {
  createCertificateAuthority, issueClientCertificate, issueServerCertificate, writeCertificateAndKey, writeCertificateFile,
  controlPlaneIdentity, nodeIdentity, type CertificateAuthority,
} from '@tide/pki';
import { AgentTls, AgentTlsFiles, loadAgentTls } from '../http/agent.tls';
import { AgentAuth, TokenReviewer } from '../http/agent.auth';

export interface ClientPair {
  cert: string;
  key: string;
}

export type Caller = 'control-plane' | 'node' | 'admin' | 'other-ca' | 'none';

export interface TestAgentPki {
  files: AgentTlsFiles;
  tls: AgentTls;
  ca: CertificateAuthority;
  clients: Record<Exclude<Caller, 'none'>, ClientPair>;
  /** fetch to an agent at `base` trusting the CA, with that caller's certificate (default the control plane's). */
  fetch(url: string, init?: RequestInit & { as?: Caller }): Promise<Response>;
  /** The TLS options of a client connection (https.request, tls.connect) as that caller. */
  connectOptions(as?: Caller): { ca: string; cert?: string; key?: string };
  auth(reviewer?: TokenReviewer): AgentAuth;
  close(): Promise<void>;
}

export async function makeTestAgentPki(dir: string): Promise<TestAgentPki> {
  fs.mkdirSync(dir, { recursive: true });
  const ca = await createCertificateAuthority();
  const other = await createCertificateAuthority();
  const files: AgentTlsFiles = { certificate: path.join(dir, 'serving.crt'), key: path.join(dir, 'serving.key'), clientCa: path.join(dir, 'ca.crt') };
  await writeCertificateFile(files.clientCa, ca.certificatePem);
  await writeCertificateAndKey(files, await issueServerCertificate(ca, { commonName: 'system:node:test', ipAddresses: ['127.0.0.1'] }));
  const pair = async (authority: CertificateAuthority, identity: { commonName: string; organizations: string[] }) => {
    const issued = await issueClientCertificate(authority, identity);
    return { cert: issued.certificatePem, key: issued.key.toPem() };
  };
  const clients = {
    'control-plane': await pair(ca, controlPlaneIdentity()),
    node: await pair(ca, nodeIdentity('node-1')),
    admin: await pair(ca, { commonName: 'alice', organizations: ['system:masters'] }),
    'other-ca': await pair(other, controlPlaneIdentity()),
  };
  const connectOptions = (as: Caller = 'control-plane') => ({ ca: ca.certificatePem, ...(as === 'none' ? {} : clients[as]) });
  const dispatchers = new Map<Caller, Agent>();
  return {
    files, tls: await loadAgentTls(files), ca, clients, connectOptions,
    fetch(url, init = {}) {
      const { as = 'control-plane', ...rest } = init;
      let dispatcher = dispatchers.get(as);
      if (!dispatcher) dispatchers.set(as, (dispatcher = new Agent({ connect: connectOptions(as) })));
      return fetch(url, { ...rest, dispatcher } as RequestInit);
    },
    auth: (reviewer) => new AgentAuth(reviewer),
    async close() {
      await Promise.all([...dispatchers.values()].map((d) => d.close()));
    },
  };
}
