/**
 * Node credentials for tests and benchmarks that speak the agents' protocol themselves (hollow
 * agents, forged agents): a key and CSR made by Debian's openssl (CN system:node:<name>, O
 * system:nodes), sent with a join token to the control plane's `POST /api/v1/join` as a real agent's
 * join does. e2e code uses no workspace adapter lib, so nothing here comes from libs/pki.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent } from 'undici';

/** PEM texts of a node's mTLS channel. */
export interface NodeCredentials {
  ca: string;
  certificate: string;
  key: string;
}

/** A fresh P-256 key and a CSR for `subject` (default the node's identity). */
export function nodeCsr(nodeName: string, subject = `/CN=system:node:${nodeName}/O=system:nodes`): { key: string; csr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-csr-'));
  try {
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject,
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'csr.pem')], { stdio: 'pipe' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), csr: fs.readFileSync(path.join(dir, 'csr.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** nodeCsr without blocking: many hollow nodes make theirs at once. */
export async function nodeCsrAsync(nodeName: string): Promise<{ key: string; csr: string }> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'tide-csr-'));
  try {
    await promisify(execFile)('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', `/CN=system:node:${nodeName}/O=system:nodes`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'csr.pem')]);
    return { key: await fs.promises.readFile(path.join(dir, 'key.pem'), 'utf8'), csr: await fs.promises.readFile(path.join(dir, 'csr.pem'), 'utf8') };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** `POST /api/v1/join` as an agent sends it; the status and answer, whatever they are. */
export async function postJoin(server: string, caPem: string, token: string, nodeName: string, csr: string): Promise<{ status: number; body: { certificate?: string; ca?: string; error?: string } }> {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  try {
    const response = await fetch(`${server}/api/v1/join`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ nodeName, csr }), dispatcher,
    } as RequestInit);
    return { status: response.status, body: (await response.json()) as { certificate?: string; ca?: string; error?: string } };
  } finally {
    await dispatcher.close();
  }
}

/** A node's credentials through a join; throws with the control plane's reason when refused. */
export async function joinAs(server: string, caPem: string, token: string, nodeName: string): Promise<NodeCredentials> {
  const { key, csr } = await nodeCsrAsync(nodeName);
  const answer = await postJoin(server, caPem, token, nodeName, csr);
  if (answer.status !== 200 || !answer.body.certificate || !answer.body.ca) throw new Error(`join of ${nodeName} refused (${answer.status}): ${answer.body.error}`);
  return { ca: answer.body.ca, certificate: answer.body.certificate, key };
}
