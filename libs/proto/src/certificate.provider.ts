/**
 * Certificates that change while a gRPC server or channel runs: grpc-js's CertificateProvider fed
 * from memory. A server made with `rotatingServerCredentials` (or a channel with
 * `rotatingChannelCredentials`) takes the certificate `update` last gave for every connection made
 * afterwards; connections already open keep theirs. grpc-js's FileWatcherCertificateProvider does
 * the same from files it polls; here the owner pushes a renewal the moment it has one.
 */
import * as grpc from '@grpc/grpc-js';

/** PEM texts: the CA that peers' certificates must come from, and our certificate (chain) and key. */
export interface PemCredentials {
  ca: string;
  certificate: string;
  key: string;
}

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

export class RotatingCertificates implements grpc.experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private current: PemCredentials;

  constructor(initial: PemCredentials) {
    this.current = initial;
  }

  /** New certificates for the connections made from now on. */
  update(next: PemCredentials): void {
    this.current = next;
    for (const listener of this.caListeners) listener(this.caUpdate());
    for (const listener of this.identityListeners) listener(this.identityUpdate());
  }

  get credentials(): PemCredentials {
    return this.current;
  }

  // A new listener hears the current certificates on the next tick, as from grpc-js's file watcher:
  // its server credentials register their own watcher only after adding the listener, and would
  // miss an answer given at once (the server then drops every connection until the next update).
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): { caCertificate: Buffer } {
    return { caCertificate: Buffer.from(this.current.ca) };
  }

  private identityUpdate(): { certificate: Buffer; privateKey: Buffer } {
    return { certificate: Buffer.from(this.current.certificate), privateKey: Buffer.from(this.current.key) };
  }
}

/** Server credentials over `certificates`, client certificates from its CA required (mutual TLS). */
export function rotatingServerCredentials(certificates: RotatingCertificates): grpc.ServerCredentials {
  // grpc-js 1.14 names its parameters (ca, identity) but hands them on as (identity, ca); one
  // provider serving both makes the order moot.
  return grpc.experimental.createCertificateProviderServerCredentials(certificates, certificates, true);
}

/** Channel credentials over `certificates`: the server verified against its CA, our certificate presented. */
export function rotatingChannelCredentials(certificates: RotatingCertificates): grpc.ChannelCredentials {
  return grpc.experimental.createCertificateProviderChannelCredentials(certificates, certificates);
}
