export { PkiError, type Checked } from './errors';
export { PrivateKey, type KeyAlgorithm } from './private.key';
export * from './identity';
export { describeCertificate, type CertificateInfo } from './certificate.info';
export {
  issueCertificate, issueServerCertificate, issueClientCertificate, DEFAULT_CERTIFICATE_VALIDITY_MS, BACKDATE_MS,
  type CertificateAuthority, type IssuedCertificate, type CertificateUsage, type IssueRequest,
} from './issue';
export { createCertificateAuthority, loadCertificateAuthority, DEFAULT_CA_VALIDITY_MS } from './ca';
export { createCertificateRequest, signCertificateRequest, type CertificateRequest, type ServingNames, type SigningPolicy } from './csr';
export { caPin, parseCaPin, verifyCaPin, trustPresentedChain, certificatePemFromDer } from './pin';
export { checkValidity, renewalDecision, verifyIssuedBy, RENEW_WHEN_LEFT_FRACTION, type RenewalDecision } from './validity';
export * from './pem.files';
export {
  clusterPkiLayout, ensureClusterPki, certificateNames, controlPlaneServerNames, livesAtMost,
  type ClusterPkiLayout, type ClusterPki, type EnsureClusterPkiOptions, type ServerNames,
} from './cluster.pki';
export { registryPkiLayout, ensureRegistryPki, REGISTRY_TOKEN_SIGNER_NAME, type RegistryPkiLayout } from './registry.pki';
export { etcdPkiLayout, ensureEtcdPki, LOCAL_ETCD_NAMES, type EtcdPkiLayout, type EnsureEtcdPkiOptions } from './etcd.pki';
export { nodeServingLayout, ensureNodeServingCertificate, type NodeServingLayout } from './node.serving';
