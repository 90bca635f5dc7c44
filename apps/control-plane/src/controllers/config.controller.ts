/**
 * Keeps every Service's `status.configHash` the digest of the ConfigMap and Secret values its env
 * reads (libs/api config.refs.ts). The digest is part of the replicas' template, so a change of
 * those values (or a referenced object appearing or going) is a new template that the service
 * controller rolls out as any other, with its maxSurge and maxUnavailable. Files of configMap and
 * secret volumes are not part of it: the agents swap them in place. Leader only, kicked by the
 * config cache and by Service changes.
 */
import { ConfigData, Service, configDataOf, configHash, configKeyOf, replicaTemplate } from '@tide/api';
import { ClusterCache, ConfigObject, NotFoundError, ObjectStore } from '@tide/store';

export type ConfigLookup = (key: string) => ConfigData | undefined;

/** The digest a Service's status should carry, over `lookup` (and objects about to be written, first). */
export function serviceConfigHash(service: Service, lookup: ConfigLookup, digestKey: Buffer, pending: ConfigObject[] = []): string | undefined {
  const template = replicaTemplate(service);
  if (!template.envRefs && !template.envFrom) return undefined;
  const overrides = new Map(pending.map((object) => {
    const data = configDataOf(object);
    return [configKeyOf(data.kind, data.namespace, data.name), data] as const;
  }));
  return configHash(service.metadata.namespace, template, (key) => overrides.get(key) ?? lookup(key), digestKey);
}

export class ConfigController {
  constructor(
    private readonly store: ObjectStore,
    private readonly cache: Pick<ClusterCache, 'list'>,
    private readonly lookup: ConfigLookup,
    private readonly digestKey: () => Buffer,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  async sync(): Promise<void> {
    for (const service of this.cache.list('Service')) {
      const wanted = serviceConfigHash(service, this.lookup, this.digestKey());
      if (wanted === service.status?.configHash) continue;
      const { namespace, name } = service.metadata;
      await this.store.mutate<Service>('Service', namespace, name, (current) => {
        const hash = serviceConfigHash(current, this.lookup, this.digestKey());
        if (hash === current.status?.configHash) return undefined;
        const { configHash: _old, ...status } = current.status ?? ({} as NonNullable<Service['status']>);
        return { ...current, status: { ...status, ...(hash ? { configHash: hash } : {}) } as Service['status'] };
      }).then(
        () => this.log(`service ${namespace}/${name}: the ConfigMap/Secret values its env reads changed: rolling out a new template`),
        (error: unknown) => {
          if (!(error instanceof NotFoundError)) throw error;
        },
      );
    }
  }
}
