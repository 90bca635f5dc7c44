/** `tsctl scale service NAME --replicas N` and `tsctl delete service|configmap|secret|volume NAME | -f FILE`. */
import { Service } from '@tide/api';
import { ApiError } from '../api/api.client';
import { UsageError, intOption } from '../cli/args';
import { needsConversion, prepareManifests } from '../manifest/kube.convert';
import { ManifestError, readManifestFile } from '../manifest/manifest';
import { Command, CommandContext, NAMESPACE_OPTION, ResourceKind, namespaceOf, parseKind, query, singular } from './command';

const SCALE_USAGE = 'tsctl scale service NAME --replicas N [-n NS]';
const DELETE_USAGE = 'tsctl delete service|configmap|secret|volume NAME [-n NS] | tsctl delete -f FILE';

export const scaleCommand: Command = {
  name: 'scale',
  usage: SCALE_USAGE,
  summary: 'set the number of replicas of a service',
  options: [{ long: 'replicas', help: 'the new number of replicas' }, NAMESPACE_OPTION],
  async run(ctx: CommandContext): Promise<void> {
    const target = parseKind(ctx.args[0], ['services'], SCALE_USAGE);
    const name = target.name ?? ctx.args[1];
    if (!name) throw new UsageError(`scale needs a service NAME\nusage: ${SCALE_USAGE}`);
    if (!ctx.options.has('replicas')) throw new UsageError(`scale needs --replicas N\nusage: ${SCALE_USAGE}`);
    const replicas = intOption(ctx.options, 'replicas', 0, 0);
    const namespace = namespaceOf(ctx);
    await notFoundAs('service', name, namespace, ctx.api.request('PUT', `/api/v1/services/${encodeURIComponent(name)}/scale${query({ namespace })}`, { replicas }));
    ctx.out(`service/${name} scaled to ${replicas}`);
  },
};

export const deleteCommand: Command = {
  name: 'delete',
  usage: DELETE_USAGE,
  summary: 'delete a service (its replicas are stopped with their grace period), a ConfigMap, a Secret or a named local volume (with its data)',
  options: [{ long: 'filename', short: 'f', help: 'delete the services, ConfigMaps and Secrets of this YAML file' }, NAMESPACE_OPTION],
  async run(ctx: CommandContext): Promise<void> {
    const targets = ctx.options.has('filename') ? objectsOfFile(ctx.options.get('filename')!) : [objectOfArgs(ctx)];
    for (const { kind, name, namespace } of targets) {
      await notFoundAs(singular(kind), name, namespace, ctx.api.request('DELETE', `/api/v1/${kind}/${encodeURIComponent(name)}${query({ namespace })}`));
      ctx.out(`${singular(kind)}/${name} deleted`);
    }
  },
};

type DeleteTarget = { kind: ResourceKind; name: string; namespace: string };
const DELETED_KINDS: Record<string, ResourceKind> = { Service: 'services', ConfigMap: 'configmaps', Secret: 'secrets' };

function objectOfArgs(ctx: CommandContext): DeleteTarget {
  const target = parseKind(ctx.args[0], ['services', 'configmaps', 'secrets', 'volumes'], DELETE_USAGE);
  const name = target.name ?? ctx.args[1];
  if (!name) throw new UsageError(`delete needs a ${singular(target.kind)} NAME or -f FILE\nusage: ${DELETE_USAGE}`);
  return { kind: target.kind, name, namespace: namespaceOf(ctx) };
}

function objectsOfFile(file: string): DeleteTarget[] {
  return servicesOfFile(file).map(({ kind, name, namespace }) => ({ kind: DELETED_KINDS[kind], name, namespace }));
}

function servicesOfFile(file: string): { kind: string; name: string; namespace: string }[] {
  const manifests = readManifestFile(file);
  // Kubernetes manifests: the Tide services `apply -f` of the same file made (its Deployments).
  if (needsConversion(manifests)) {
    return prepareManifests(manifests, 'nothing was deleted').documents
      .filter((doc) => DELETED_KINDS[(doc as Service).kind] !== undefined)
      .map((doc) => ({ kind: (doc as Service).kind, name: (doc as Service).metadata.name, namespace: (doc as Service).metadata.namespace ?? 'default' }));
  }
  return manifests.documents.map((doc, i) => {
    const { kind, metadata } = doc as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof kind !== 'string' || DELETED_KINDS[kind] === undefined || typeof metadata?.name !== 'string') {
      throw new ManifestError(`${manifests.source}: document ${manifests.numbers[i]}: only Services, ConfigMaps and Secrets with a metadata.name can be deleted`);
    }
    return { kind, name: metadata.name, namespace: typeof metadata.namespace === 'string' ? metadata.namespace : 'default' };
  });
}

async function notFoundAs<T>(what: string, name: string, namespace: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new ApiError(`${what} "${name}" not found in namespace ${namespace}`, 404);
    throw error;
  }
}
