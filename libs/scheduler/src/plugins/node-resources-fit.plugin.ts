import { FilterPlugin } from '../types';
import { FITS } from './node-status.plugin';

/** Requests against allocatable minus what is already requested on the node. */
export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  scope: 'node',
  filter: (replica, node) => {
    if (node.requested.cpu + replica.cpu > node.allocatable.cpu) return { fits: false, reason: 'insufficient cpu' };
    if (node.requested.memory + replica.memory > node.allocatable.memory) {
      return { fits: false, reason: 'insufficient memory' };
    }
    return FITS;
  },
};
