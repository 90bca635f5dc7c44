import { nodeReady, nodeResourcesFit, nodeSelector, nodeUnschedulable } from './plugins/filters';
import { bestFit, serviceSpread } from './plugins/scores';
import { FilterPlugin, ScorePlugin } from './types';

/** Plugins by name. Filters run in this order; the cheap, most selective ones first. */
export const FILTERS: Record<string, () => FilterPlugin> = {
  NodeReady: () => nodeReady,
  NodeUnschedulable: () => nodeUnschedulable,
  NodeSelector: () => nodeSelector,
  NodeResourcesFit: () => nodeResourcesFit,
};

export const SCORES: Record<string, () => ScorePlugin> = {
  BestFit: () => bestFit,
  ServiceSpread: () => serviceSpread,
};

export interface SchedulerProfile {
  filters: string[];
  /** Score plugin name → weight. Packing dominates; spreading breaks near-ties. */
  scores: Record<string, number>;
}

export const DEFAULT_PROFILE: SchedulerProfile = {
  filters: ['NodeReady', 'NodeUnschedulable', 'NodeSelector', 'NodeResourcesFit'],
  scores: { BestFit: 10, ServiceSpread: 1 },
};
