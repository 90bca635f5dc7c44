import { FilterPlugin } from '../types';
import { FITS } from './node-status.plugin';

/**
 * A replica using a named local volume runs on the node holding it: the volume's data is there and
 * nowhere else (Kubernetes' VolumeBinding filter for a local PersistentVolume). Node scope: it reads
 * the node's name, which no class shares.
 */
export const localVolumeNode: FilterPlugin = {
  name: 'LocalVolume',
  scope: 'node',
  filter: (replica, node) => {
    for (const { volume, node: holder } of replica.localVolumes ?? []) {
      if (holder !== node.name) return { fits: false, reason: `local volume ${volume} is on node ${holder}` };
    }
    return FITS;
  },
};
