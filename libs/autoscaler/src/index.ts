export * from './policy';
export * from './recommendation';
export * from './behavior';
export * from './schedule';
export * from './autoscaler';
export * from './decision.text';
export * from './metrics.server';
export * from './hpa.replicas';
