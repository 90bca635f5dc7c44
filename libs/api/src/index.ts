export * from './types';
export * from './quantity';
export * from './validation';
export * from './template';
export * from './images';
export * from './exec.protocol';
