export * from './sys';
export { linuxSys } from './linux.sys';
