export * from './runtime.types';
export { LinuxRuntime, LinuxRuntimeOptions, DEFAULT_WARM_POOL, MAX_WARM_POOL } from './linux.runtime';
export { StartMark, StartTraceRecord } from './init/start.trace';
export { ImageStore, ImageResolver, ImageRecord, StoredLayer, ResolvedImage, ImageConfig } from './image/image.store';
export { parseRef, formatRef, ImageRef } from './image/oci';
export * from './image/image.types';
export { createImageService, ImageServiceOptions } from './image.service';
export { ensureBusyboxImage, BUSYBOX_REF } from './image/busybox.image';
export { ensureNodeImage, NODE_REF, nodeRefs } from './image/node.image';
export { detectCgroups, CgroupOptions } from './cgroups/cgroup';
export { CgroupManager, ContainerCgroup } from './cgroups/cgroup.types';
export { OverlaySnapshotter, OverlayMount, Snapshotter, overlayOptions } from './snapshot/overlay.snapshotter';
export { BridgeAttacher, ContainerNetwork, NetworkAttacher, PreparedNetwork } from './network/container.network';
export { BindFile } from './init/init.config';
export { BridgeSettings, bridgeSettings, bridgeNameFor } from './network/bridge.settings';
export { NetworkError } from './network/network.command';
export { PeerSlice } from './network/bridge.settings';
export { isLocalAddress, setUpNodeNetwork, syncPeerRoutes, tearDownNodeNetwork } from './network/node.network';
export { VxlanSettings, setUpVxlan, syncVxlanPeers, tearDownVxlan, vxlanNameFor } from './network/vxlan.network';
export { readTar, TarEntry, TarHeader, TarEntryType, TarError, ByteSource } from '@tide/tar';
export { readSmallFile } from './cgroups/cgroup.read';
export { seccompProgramFor } from './isolation/seccomp';
export { ociSeccompProfile } from './isolation/seccomp.oci';
export { ExitRecord, recordOrphanExit } from './container/exit.record';
export { OrphanReaper } from './container/orphan.reaper';
export {
  CollectOptions, CollectResult, DEFAULT_IMAGE_GC, GcCandidate, GcThreshold, ImageGcPolicy, RemovalPlan, collectImages, imageGcPolicy,
  parseGcThreshold, planImageRemoval, storeBytes,
} from './image/image.gc';
export { CommitRequest, commitContainer } from './build/container.commit';
export { HistoryEntry, imageHistory } from './image/image.history';
export { ImageDetails, imageDetails } from './image/image.inspect';
export { isNoSpace, writeFileAtomic } from './atomic.write';
export * from './volume/atomic.dir';
export * from './volume/memory.dir';
export { ContainerPath, FilesError, containerPath, entryParts } from './files/container.path';
export { ContainerRoot } from './files/container.root';
export { archivePath } from './files/root.archive';
export { ExtractOptions, extractInto } from './files/root.extract';
