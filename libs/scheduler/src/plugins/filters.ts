import { FilterPlugin, FilterStatus } from '../types';

const FITS: FilterStatus = { fits: true };

export const nodeReady: FilterPlugin = {
  name: 'NodeReady',
  filter: (_replica, node) => (node.ready ? FITS : { fits: false, reason: 'not ready' }),
};

export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter: (_replica, node) => (node.cordoned ? { fits: false, reason: 'cordoned' } : FITS),
};

export const nodeSelector: FilterPlugin = {
  name: 'NodeSelector',
  filter: (replica, node) => {
    for (const [key, value] of Object.entries(replica.nodeSelector ?? {})) {
      if (node.labels[key] !== value) return { fits: false, reason: 'node selector mismatch' };
    }
    return FITS;
  },
};

/** Requests against allocatable minus what is already requested on the node. */
export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter: (replica, node) => {
    if (node.requested.cpu + replica.cpu > node.allocatable.cpu) return { fits: false, reason: 'insufficient cpu' };
    if (node.requested.memory + replica.memory > node.allocatable.memory) {
      return { fits: false, reason: 'insufficient memory' };
    }
    return FITS;
  },
};
