import { hostPortsFree } from './plugins/host-ports.plugin';
import { localVolumeNode } from './plugins/local-volume.plugin';
import { nodeResourcesFit } from './plugins/node-resources-fit.plugin';
import { nodeDiskPressure, nodeReady, nodeSelector, nodeUnschedulable } from './plugins/node-status.plugin';
import { bestFit, imageLocality } from './plugins/scores.plugin';
import { serviceSpread } from './plugins/service-spread.plugin';
import { FilterPlugin, ScorePlugin } from './types';

/** Plugins by name. */
export const FILTERS: Record<string, () => FilterPlugin> = {
  NodeReady: () => nodeReady,
  NodeUnschedulable: () => nodeUnschedulable,
  NodeDiskPressure: () => nodeDiskPressure,
  NodeSelector: () => nodeSelector,
  NodeResourcesFit: () => nodeResourcesFit,
  HostPorts: () => hostPortsFree,
  LocalVolume: () => localVolumeNode,
  ServiceSpread: () => serviceSpread,
};

export const SCORES: Record<string, () => ScorePlugin> = {
  BestFit: () => bestFit,
  ImageLocality: () => imageLocality,
};

export interface SchedulerProfile {
  /** Run in this order; a node's reason is the first filter that rejects it. */
  filters: string[];
  /** Score plugin name → weight. */
  scores: Record<string, number>;
}

/**
 * Packing dominates: a node that has the image wins only against nodes less than 5 points of
 * best-fit (a 5% fuller node) behind it (weights 20 : 1 over scores of 0..100).
 */
export const DEFAULT_PROFILE: SchedulerProfile = {
  filters: ['NodeReady', 'NodeUnschedulable', 'NodeDiskPressure', 'NodeSelector', 'LocalVolume', 'NodeResourcesFit', 'HostPorts', 'ServiceSpread'],
  scores: { BestFit: 20, ImageLocality: 1 },
};

export interface Plugins {
  filters: FilterPlugin[];
  scores: { plugin: ScorePlugin; weight: number }[];
}

/** Instantiates a profile; an unknown name is an error a user can act on, not a crash later. */
export function buildPlugins(profile: SchedulerProfile): Plugins {
  const unknown = [
    ...profile.filters.filter((name) => !FILTERS[name]),
    ...Object.keys(profile.scores).filter((name) => !SCORES[name]),
  ];
  if (unknown.length > 0) throw new Error(`unknown scheduler plugin(s): ${unknown.join(', ')}`);
  return {
    filters: profile.filters.map((name) => FILTERS[name]()),
    scores: Object.entries(profile.scores).map(([name, weight]) => ({ plugin: SCORES[name](), weight })),
  };
}
