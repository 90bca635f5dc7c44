export * from './types';
export * from './engine';
export * from './registry';
export { bestFitScore, imageLocalityScore } from './plugins/scores.plugin';
export { hostPortsOf } from './plugins/host-ports.plugin';
export { DEFAULT_MAX_SKEW, spreadCap } from './plugins/service-spread.plugin';
