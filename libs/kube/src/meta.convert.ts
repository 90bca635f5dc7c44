/** `metadata` of every Kubernetes document: name, namespace and labels kept, the rest reported. */
import { labelsAt } from './labels';
import { DocContext, Json, Report, Rules, applyRules, ignored, objectAt, refused, warnUnlessEmpty } from './report';

const SET_BY_KUBERNETES = ignored('set by Kubernetes (a copy of kubectl get output?)');

const METADATA_RULES: Rules = {
  name: 'use', namespace: 'use', labels: 'use',
  annotations: warnUnlessEmpty('Tide keeps no annotations'),
  uid: SET_BY_KUBERNETES, resourceVersion: SET_BY_KUBERNETES, generation: SET_BY_KUBERNETES,
  creationTimestamp: SET_BY_KUBERNETES, managedFields: SET_BY_KUBERNETES, selfLink: SET_BY_KUBERNETES,
  deletionTimestamp: SET_BY_KUBERNETES, deletionGracePeriodSeconds: SET_BY_KUBERNETES,
  ownerReferences: warnUnlessEmpty('Tide does not garbage-collect objects by owner'),
  finalizers: warnUnlessEmpty('Tide runs no finalizers'),
  generateName: refused('Tide needs a fixed name: use metadata.name'),
};

export interface Meta {
  name: string;
  /** As written (undefined: the default namespace). */
  namespace?: string;
  labels: Record<string, string>;
}

/** The name, namespace and labels, or undefined (refused) without a name. */
export function convertMetadata(report: Report, ctx: DocContext, value: unknown, path = 'metadata'): Meta | undefined {
  const metadata: Json = objectAt(report, ctx, value, path) ?? {};
  applyRules(report, ctx, path, metadata, METADATA_RULES);
  const labels = labelsAt(report, ctx, metadata.labels, `${path}.labels`);
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    report.refuse(ctx, `${path}.name`, 'required');
    return undefined;
  }
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    report.refuse(ctx, `${path}.namespace`, 'must be a string');
    return undefined;
  }
  return { name: metadata.name, ...(metadata.namespace !== undefined ? { namespace: metadata.namespace } : {}), labels };
}

/** The Tide metadata for a converted object: namespace only when the document gave one. */
export function tideMetadata(meta: Meta): Json {
  return {
    name: meta.name,
    ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
    ...(Object.keys(meta.labels).length ? { labels: meta.labels } : {}),
  };
}

export function namespaceOf(meta: Meta): string {
  return meta.namespace ?? 'default';
}
