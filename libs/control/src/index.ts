// The control plane's pure logic: plans, predicates and mappings that the app's loops call with
// what they read (cache, etcd, usage) and whose results they write. No I/O, no framework.
export * from './replica.predicates';
export * from './replica.factory';
export * from './replica.moves';
export * from './service.plan';
export * from './rollout.status';
export * from './drain.progress';
export * from './drain.plan';
export * from './scheduler.input';
export * from './consolidation.plan';
export * from './autoscaler.load';
export * from './autoscaler.status';
export * from './published.endpoints';
export * from './service-ip.plan';
export * from './desired.assignments';
export * from './replica.status';
export * from './node.provider';
export * from './node.autoscaler.plan';
export * from './retry.backoff';
export * from './node.prescale.plan';
export * from './node.lifecycle.plan';
export * from './local.volumes';
