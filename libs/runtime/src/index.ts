export * from './runtime.types';
