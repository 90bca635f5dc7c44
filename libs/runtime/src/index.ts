export * from './runtime.types';
export { LinuxRuntime, LinuxRuntimeOptions } from './linux.runtime';
export { ImageStore, ResolvedImage, ImageManifest, parseImageRef } from './image/image.store';
export { ensureBusyboxImage, BUSYBOX_REF } from './image/busybox.image';
export { detectCgroups, CgroupManager, ContainerCgroup } from './cgroups/cgroup';
export { OverlaySnapshotter, OverlayMount } from './snapshot/overlay.snapshotter';
