/**
 * Node certificates on the control plane's side: a join (a join token and a CSR, over the HTTPS API)
 * and a renewal (a CSR over gRPC, authenticated by the node's current certificate) both end here.
 * The CSR must name exactly the node (libs/pki signCertificateRequest), the signed serial is recorded
 * in etcd (libs/store NodeCertificates: what the gRPC endpoint honours), and `revoke` drops them all
 * (`tsctl node delete`).
 */
import * as net from 'node:net';
import { useJoinToken, type Parsed, type TokenRecord } from '@tide/auth';
import {
  caPin, describeCertificate, nodeIdentity, signCertificateRequest, type CertificateAuthority, type CertificateIdentity, type ServingNames,
} from '@tide/pki';
import { NodeCertificates } from '@tide/store';

/** What a join or a renewal answers: the node's new certificate and the CA that signed it. */
export interface SignedNodeCertificate {
  certificate: string;
  ca: string;
  serialNumber: string;
  notAfter: string;
}

/** A refusal with the HTTP status it maps to (the gRPC adapter maps 403 to PERMISSION_DENIED). */
export type EnrollmentResult = { ok: true; value: SignedNodeCertificate } | { ok: false; status: 400 | 401 | 403; reason: string };

export interface JoinTokens {
  get(id: string): Promise<TokenRecord | undefined>;
  /** Applies `use` to the stored record with compare-and-swap; the refusal when `use` refuses or the record is gone. */
  consume(id: string, use: (record: TokenRecord) => Parsed<TokenRecord>): Promise<Parsed<TokenRecord>>;
}

export interface NodeEnrollmentOptions {
  /** The cluster CA (read when needed: the control plane may have renewed its files). */
  ca: () => CertificateAuthority;
  records: NodeCertificates;
  tokens: JoinTokens;
  /** The serials the cluster honours for a node (the watch-fed cache's view). */
  serials: (node: string) => readonly string[] | undefined;
  /** Lifetime of a node certificate (default: libs/pki's, a year). */
  validityMs?: number;
  /** The control plane's gRPC address (`--grpc-listen`): its port goes into join commands. */
  grpcListen: string;
}

export class NodeEnrollment {
  constructor(private readonly options: NodeEnrollmentOptions) {}

  /** `sha256:` pin of the CA, for `--ca-hash`. */
  caHash(): string {
    return caPin(this.options.ca().certificatePem);
  }

  grpcPort(): number {
    return Number(/:(\d+)$/.exec(this.options.grpcListen)?.[1] ?? 7071);
  }

  /**
   * A join: the token (already authenticated by the API's guard, so valid and of kind join) is used
   * once for this node name, then the CSR is signed. A node that already holds a live certificate
   * cannot be joined again with an unbound token: that would let any join token impersonate it.
   */
  async join(tokenId: string, nodeName: string, csrPem: string): Promise<EnrollmentResult> {
    const record = await this.options.tokens.get(tokenId);
    if (!record) return { ok: false, status: 401, reason: `unknown or revoked token ${tokenId}` };
    if (record.nodeName === undefined && (this.options.serials(nodeName)?.length ?? 0) > 0) {
      return {
        ok: false, status: 403,
        reason: `node ${nodeName} is already in the cluster with a certificate: "tsctl node delete ${nodeName}" first, or join with a token made by "tsctl token create --join --node ${nodeName}"`,
      };
    }
    // Signed before the token's use is counted (a bad CSR must not use up a single-use token), but
    // honoured only once it is counted: the serial is recorded last.
    const signed = await this.sign(nodeName, csrPem);
    if (!signed.ok) return signed;
    const used = await this.options.tokens.consume(tokenId, (current) => useJoinToken(current, nodeName));
    if (!used.ok) return { ok: false, status: 403, reason: used.reason };
    await this.options.records.record(nodeName, signed.value.serialNumber);
    return signed;
  }

  /** A renewal by a node authenticated with its current certificate: the CSR must name that node. */
  async renew(nodeName: string, csrPem: string): Promise<EnrollmentResult> {
    const signed = await this.sign(nodeName, csrPem);
    if (signed.ok) await this.options.records.record(nodeName, signed.value.serialNumber);
    return signed;
  }

  /** Revokes every certificate of the node; false when it had none recorded. */
  revoke(nodeName: string): Promise<boolean> {
    return this.options.records.revoke(nodeName);
  }

  /**
   * The node's HTTPS serving certificate (serverAuth, CN system:node:<name>, the IP it asks for), at
   * a join, beside its client certificate. Its address is the node's claim: the control plane dials an
   * agent only if the certificate names both the node it means and the address it dialled, and a node
   * cannot register another node's address, so the claim lets it impersonate no one. Not recorded:
   * a serving certificate is no client identity.
   */
  async signServing(nodeName: string, csrPem: string, address: string): Promise<EnrollmentResult> {
    if (net.isIP(address) === 0) return { ok: false, status: 400, reason: `address: "${address}" is not an IP address (the node's --address)` };
    return this.sign(nodeName, csrPem, { ipAddresses: [address] });
  }

  private async sign(nodeName: string, csrPem: string, serving?: ServingNames): Promise<EnrollmentResult> {
    let identity;
    try {
      identity = nodeIdentity(nodeName);
    } catch (error) {
      return { ok: false, status: 400, reason: `nodeName: ${(error as Error).message}` };
    }
    return this.signFor(identity, csrPem, { ...(this.options.validityMs === undefined ? {} : { validityMs: this.options.validityMs }), ...(serving ? { serving } : {}) });
  }

  /**
   * Signs a CSR for exactly `identity` (a node's, a user's, docker-serve's): the one place the cluster
   * CA signs requests, with libs/pki's checks; a CSR asking for another name or more is a 403.
   */
  async signFor(identity: CertificateIdentity, csrPem: string, options: { validityMs?: number; serving?: ServingNames } = {}): Promise<EnrollmentResult> {
    const ca = this.options.ca();
    const signed = await signCertificateRequest(ca, csrPem, { allowedIdentity: identity, ...options });
    if (!signed.ok) return { ok: false, status: /^csr: asks (for|to serve) /.test(signed.reason) ? 403 : 400, reason: signed.reason };
    const info = describeCertificate(signed.value);
    return { ok: true, value: { certificate: signed.value, ca: ca.certificatePem, serialNumber: info.serialNumber.toLowerCase(), notAfter: info.notAfter.toISOString() } };
  }
}
