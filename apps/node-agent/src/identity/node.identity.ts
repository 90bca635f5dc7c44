/**
 * The node's identity: its key, its certificate (CN system:node:<name>) and the cluster CA, in
 * `STATE/pki/` (key 0600). At start the agent uses what is there if it is still good (a restart
 * reuses its certificate); otherwise it joins with `--join/--ca-hash`. Afterwards it renews the
 * certificate at about two thirds of its lifetime over the gRPC endpoint (authenticated by the
 * current one) and hands the new credentials to the control-plane client, which reconnects with them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  caPin, createCertificateRequest, describeCertificate, nodeIdentity, readCertificateFile, readKeyFile, renewalDecision, verifyIssuedBy,
  writeCertificateAndKey, writeCertificateFile,
} from '@tide/pki';
import { JoinError, joinCluster } from './join.client';

/** PEM texts a gRPC channel needs. */
export interface NodeCredentials {
  ca: string;
  certificate: string;
  key: string;
}

export interface NodeIdentityOptions {
  nodeName: string;
  stateDir: string;
  join?: { token: string; caHash: string; apiServer: string };
  /** Where a join puts the agent's HTTPS certificate for `address` (its --tls-cert-file and key). */
  serving?: { address: string; certificate: string; key: string };
  log(line: string): void;
  /** After a join, before the credentials are used: what the node knew of a cluster is to be forgotten. */
  onJoined?(): void;
}

export function identityPaths(stateDir: string): { dir: string; key: string; certificate: string; ca: string } {
  const dir = path.join(stateDir, 'pki');
  return { dir, key: path.join(dir, 'node.key'), certificate: path.join(dir, 'node.crt'), ca: path.join(dir, 'ca.crt') };
}

/** The credentials kept from an earlier join when they are still good for this node, else a join. */
export async function ensureNodeIdentity(options: NodeIdentityOptions): Promise<NodeCredentials> {
  const kept = await keptIdentity(options);
  if (kept.credentials) return kept.credentials;
  if (!options.join) {
    throw new JoinError(`${kept.why}: join the cluster with --join TOKEN --ca-hash sha256:… (tsctl token create --join prints the whole command)`);
  }
  const joined = await joinCluster({ nodeName: options.nodeName, ...options.join, ...(options.serving ? { address: options.serving.address } : {}) });
  await store(options.stateDir, { ca: joined.ca, certificate: joined.certificate, key: joined.key.toPem() }, joined.key);
  if (options.serving && joined.serving) {
    await fs.promises.mkdir(path.dirname(options.serving.certificate), { recursive: true, mode: 0o700 });
    await writeCertificateAndKey({ certificate: options.serving.certificate, key: options.serving.key }, { certificatePem: joined.serving.certificate, key: joined.serving.key });
  }
  options.onJoined?.();
  options.log(`joined the cluster as ${nodeIdentity(options.nodeName).commonName} (certificate until ${describeCertificate(joined.certificate).notAfter.toISOString()})`);
  return { ca: joined.ca, certificate: joined.certificate, key: joined.key.toPem() };
}

async function keptIdentity(options: NodeIdentityOptions): Promise<{ credentials?: NodeCredentials; why: string }> {
  const paths = identityPaths(options.stateDir);
  let certificate: string;
  let ca: string;
  let key;
  try {
    [certificate, ca] = await Promise.all([readCertificateFile(paths.certificate), readCertificateFile(paths.ca)]);
    key = await readKeyFile(paths.key);
  } catch (error) {
    if ((error as Error).message.includes('ENOENT') || (error as NodeJS.ErrnoException).code === 'ENOENT') return { why: `no node certificate in ${paths.dir}` };
    throw error; // a key other users can read is refused, not silently replaced
  }
  // A join command pins the cluster's CA: a certificate of another cluster (a state dir reused) is replaced.
  if (options.join && caPin(ca) !== options.join.caHash.toLowerCase()) return { why: `the node certificate in ${paths.certificate} is from another cluster's CA` };
  const valid = verifyIssuedBy(certificate, ca, { usage: 'client' });
  if (!valid.ok) return { why: `the node certificate in ${paths.certificate} is no longer usable (${valid.reason})` };
  if (valid.value.identity.commonName !== nodeIdentity(options.nodeName).commonName) {
    return { why: `the node certificate in ${paths.certificate} is for ${valid.value.identity.commonName}, not node ${options.nodeName}` };
  }
  return { credentials: { ca, certificate, key: key.toPem() }, why: '' };
}

async function store(stateDir: string, credentials: NodeCredentials, key: Awaited<ReturnType<typeof readKeyFile>>): Promise<void> {
  const paths = identityPaths(stateDir);
  await writeCertificateFile(paths.ca, credentials.ca);
  await writeCertificateAndKey({ certificate: paths.certificate, key: paths.key }, { certificatePem: credentials.certificate, key });
}

/** setTimeout's limit (about 24.8 days): a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Retry after a failed renewal: 30 s, sooner for short-lived certificates (a tenth of the time left). */
const RETRY_MS = 30_000;

/**
 * Runs `renewOnce` whenever the certificate `current()` returns is due (libs/pki renewalDecision: two
 * thirds of its lifetime), and again after a failure while it lasts. `current` answering undefined
 * stops the loop (a certificate the agent does not renew). Returns what stops it.
 */
export function renewWhenDue(
  what: string, current: () => Promise<string | undefined>, renewOnce: () => Promise<void>, log: (line: string) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = async (retry: boolean) => {
    const pem = await current().catch(() => undefined);
    if (stopped || pem === undefined) return;
    const { renewAt, notAfter } = renewalDecision(pem);
    const wait = retry ? Math.min(RETRY_MS, Math.max(1000, (notAfter.getTime() - Date.now()) / 10)) : renewAt.getTime() - Date.now();
    timer = setTimeout(() => void check(), Math.min(MAX_TIMER_MS, Math.max(wait, 0)));
    timer.unref();
  };
  const check = async () => {
    const pem = await current().catch(() => undefined);
    if (stopped || pem === undefined) return;
    if (!renewalDecision(pem).renew) return void schedule(false);
    try {
      await renewOnce();
      void schedule(false);
    } catch (error) {
      log(`renewing the ${what} failed, retrying: ${(error as Error).message}`);
      void schedule(true);
    }
  };
  void schedule(false);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/**
 * Renews the node certificate when it is due: a fresh key and CSR, sent by `renew` (the gRPC
 * RenewCertificate call, over the current certificate), stored, then handed to `onRenewed`.
 * Failures are retried while the current certificate lasts. Returns what stops it.
 */
export function rotateNodeCertificate(
  options: NodeIdentityOptions,
  current: NodeCredentials,
  renew: (csr: string) => Promise<{ certificate: string; ca: string }>,
  onRenewed: (next: NodeCredentials) => void,
): () => void {
  let credentials = current;
  let stopped = false;
  const stop = renewWhenDue('node certificate', async () => credentials.certificate, async () => {
    const request = await createCertificateRequest(nodeIdentity(options.nodeName));
    const answer = await renew(request.csrPem);
    const valid = verifyIssuedBy(answer.certificate, answer.ca, { usage: 'client' });
    if (!valid.ok) throw new Error(`the renewed certificate: ${valid.reason}`);
    const next = { ca: answer.ca, certificate: answer.certificate, key: request.key.toPem() };
    await store(options.stateDir, next, request.key);
    if (stopped) return;
    credentials = next;
    options.log(`node certificate renewed (serial ${valid.value.serialNumber.toLowerCase()}, until ${valid.value.notAfter.toISOString()})`);
    onRenewed(next);
  }, options.log);
  return () => {
    stopped = true;
    stop();
  };
}
