/** Filters on what a node is, not on what it holds: one node answers for its whole class. */
import { FilterPlugin, FilterStatus } from '../types';

export const FITS: FilterStatus = { fits: true };

export const nodeReady: FilterPlugin = {
  name: 'NodeReady',
  scope: 'class',
  filter: (_replica, node) => (node.ready ? FITS : { fits: false, reason: 'not ready' }),
};

export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  scope: 'class',
  filter: (_replica, node) => (node.cordoned ? { fits: false, reason: 'cordoned' } : FITS),
};

export const nodeDiskPressure: FilterPlugin = {
  name: 'NodeDiskPressure',
  scope: 'class',
  filter: (_replica, node) => (node.diskPressure ? { fits: false, reason: 'disk pressure' } : FITS),
};

export const nodeSelector: FilterPlugin = {
  name: 'NodeSelector',
  scope: 'class',
  filter: (replica, node) => {
    for (const [key, value] of Object.entries(replica.nodeSelector ?? {})) {
      if (node.labels[key] !== value) return { fits: false, reason: 'node selector mismatch' };
    }
    return FITS;
  },
};
