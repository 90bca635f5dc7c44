export { RegistryError, type RegistryErrorCode, registryErrorText } from './errors';
export { parseImageReference, formatImageReference, manifestReference, type ImageReference } from './reference';
export {
  MEDIA_TYPES, MANIFEST_ACCEPT, parseManifest, selectPlatform, hostPlatform, platformName, isManifestMediaType,
  type Descriptor, type ManifestDocument, type Platform,
} from './manifest';
export { parseChallenge, type Challenge } from './challenge';
export { scopeString, type RegistryCredentials, type Scope } from './auth.session';
export { RegistryClient, DEFAULTS as REGISTRY_DEFAULTS, type RegistryClientOptions, type FetchedManifest, type ResolvedImage } from './client';
export type { UploadOptions } from './blob.transfer';
export { parseScopes, grantAccess, type AccessEntry } from './token.access';
export { RegistryTokenSigner, type TokenSigner, type TokenRequest, type IssuedToken } from './token.signer';
export { RegistrySupervisor, registryConfig, waitRegistryUp, REGISTRY_BINARY, type RegistrySupervisorOptions } from './registry.supervisor';
export { pullPlan, pushPlan, type PullPlan, type PushPlan } from './cluster.names';
