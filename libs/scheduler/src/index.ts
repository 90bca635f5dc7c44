export * from './types';
export * from './engine';
export * from './registry';
export { bestFitScore, spreadScore } from './plugins/scores';
