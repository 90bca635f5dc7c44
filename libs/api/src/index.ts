export * from './types';
export * from './quantity';
export * from './validation';
export * from './template';
export * from './cidr';
export * from './images';
export * from './exec.protocol';
export * from './probes';
