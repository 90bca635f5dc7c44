/**
 * The agent's HTTPS serving certificate, renewed while the agent runs: at two thirds of its lifetime
 * the agent makes a fresh key and a CSR for its address, the control plane signs it over gRPC
 * (RenewServingCertificate, authenticated by the node's client certificate, for the address the node
 * registered with), and the agent writes the files and swaps them into its running HTTPS server.
 * Only a certificate the agent can renew is: one of the cluster CA for this node (CN
 * system:node:<name>), as `tsctl up` and a join make; files an operator brought are left alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  createCertificateRequest, describeCertificate, nodeIdentity, readCertificateFile, verifyIssuedBy, writeCertificateAndKey,
} from '@tide/pki';
import type { AgentTlsFiles } from '../http/agent.tls';
import { renewWhenDue } from './node.identity';

export interface ServingRotationOptions {
  nodeName: string;
  address: string;
  files: AgentTlsFiles;
  /** The cluster CA (PEM) the node's own credentials hang on. */
  ca: () => string;
  renew: (csr: string) => Promise<{ certificate: string; ca: string }>;
  /** The new files are written: serve them from now on. */
  onRenewed: () => Promise<void>;
  log: (line: string) => void;
}

export function rotateServingCertificate(options: ServingRotationOptions): () => void {
  const identity = nodeIdentity(options.nodeName);
  let warned = false;
  const renewable = async (): Promise<string | undefined> => {
    const pem = await readCertificateFile(options.files.certificate);
    const issued = verifyIssuedBy(pem, options.ca(), { usage: 'server', now: describeCertificate(pem).notBefore });
    if (issued.ok && issued.value.identity.commonName === identity.commonName) return pem;
    if (!warned) options.log(`the serving certificate ${options.files.certificate} is not the cluster CA's for ${identity.commonName}: the agent leaves its renewal to whoever made it`);
    warned = true;
    return undefined;
  };
  return renewWhenDue('serving certificate', renewable, async () => {
    const request = await createCertificateRequest(identity, { ipAddresses: [options.address] });
    const answer = await options.renew(request.csrPem);
    const valid = verifyIssuedBy(answer.certificate, answer.ca, { usage: 'server' });
    if (!valid.ok) throw new Error(`the renewed serving certificate: ${valid.reason}`);
    await fs.promises.mkdir(path.dirname(options.files.certificate), { recursive: true, mode: 0o700 });
    await writeCertificateAndKey({ certificate: options.files.certificate, key: options.files.key }, { certificatePem: answer.certificate, key: request.key });
    options.log(`serving certificate renewed (serial ${valid.value.serialNumber.toLowerCase()}, until ${valid.value.notAfter.toISOString()})`);
    await options.onRenewed();
  }, options.log);
}
