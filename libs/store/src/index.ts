export { Etcd3, Watcher } from 'etcd3';
export * from './errors';
export * from './keys';
export * from './object.store';
export * from './etcd.supervisor';
export * from './node.leases';
export * from './leader.election';
export * from './pod-cidr.claims';
