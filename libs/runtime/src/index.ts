export * from './runtime.types';
export { LinuxRuntime, LinuxRuntimeOptions, DEFAULT_WARM_POOL } from './linux.runtime';
export { ImageStore, ResolvedImage, ImageManifest, parseImageRef } from './image/image.store';
export * from './image/image.types';
export { createImageService, ImageServiceOptions } from './image/image.service';
export { ensureBusyboxImage, BUSYBOX_REF } from './image/busybox.image';
export { detectCgroups, CgroupManager, ContainerCgroup } from './cgroups/cgroup';
export { OverlaySnapshotter, OverlayMount } from './snapshot/overlay.snapshotter';
