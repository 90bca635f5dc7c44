/**
 * The config part of the agent protocol (agent.mapper.ts' rules apply): a container's references
 * to ConfigMaps and Secrets, its volumes (all of them), and the objects themselves. A mode of -1 is "unset" (0 is a mode);
 * an empty prefix, item list or sub path is none; a KeySelector's optional false is required.
 */
import type { AssignedTemplate, ConfigData, EnvFromSource, EnvVarSource, HostPathType, KeySelector, Volume, VolumeMount } from '@tide/api';
import type {
  ConfigData as ConfigDataMessage, ConfigData__Output, ConfigVolume, ConfigVolume__Output, ContainerSpec, ContainerSpec__Output, EnvFromSource as EnvFromMessage,
  EnvFromSource__Output, EnvVarSource as EnvVarMessage, EnvVarSource__Output, KeySelector__Output, VolumeMount__Output,
} from './generated/messages';

type ConfigFields = Pick<AssignedTemplate, 'envRefs' | 'envFrom' | 'volumes' | 'volumeMounts'>;

export function encodeConfigFields(t: ConfigFields): Partial<ContainerSpec> {
  return {
    envRefs: Object.fromEntries(Object.entries(t.envRefs ?? {}).map(([name, ref]) => [name, encodeEnvRef(ref)])),
    envFrom: (t.envFrom ?? []).map(encodeEnvFrom),
    volumes: (t.volumes ?? []).map(encodeVolume),
    volumeMounts: (t.volumeMounts ?? []).map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false, subPath: m.subPath ?? '' })),
  };
}

export function decodeConfigFields(c: ContainerSpec__Output): ConfigFields {
  const envRefs = Object.entries(c.envRefs ?? {}).map(([name, ref]) => [name, decodeEnvRef(ref)] as const);
  return {
    ...(envRefs.length ? { envRefs: Object.fromEntries(envRefs) } : {}),
    ...(c.envFrom?.length ? { envFrom: c.envFrom.map(decodeEnvFrom) } : {}),
    ...(c.volumes?.length ? { volumes: c.volumes.map(decodeVolume) } : {}),
    ...(c.volumeMounts?.length ? { volumeMounts: c.volumeMounts.map(decodeMount) } : {}),
  };
}

function encodeEnvRef(ref: EnvVarSource): EnvVarMessage {
  const selector = (s: KeySelector) => ({ name: s.name, key: s.key, optional: s.optional ?? false });
  return ref.secretKeyRef ? { secretKeyRef: selector(ref.secretKeyRef) } : { configMapKeyRef: selector(ref.configMapKeyRef!) };
}

function decodeSelector(s: KeySelector__Output): KeySelector {
  return { name: s.name, key: s.key, ...(s.optional ? { optional: true } : {}) };
}

function decodeEnvRef(ref: EnvVarSource__Output): EnvVarSource {
  return ref.secretKeyRef ? { secretKeyRef: decodeSelector(ref.secretKeyRef) } : { configMapKeyRef: decodeSelector(ref.configMapKeyRef ?? { name: '', key: '', optional: false }) };
}

function encodeEnvFrom(source: EnvFromSource): EnvFromMessage {
  const ref = source.secretRef ?? source.configMapRef!;
  return {
    prefix: source.prefix ?? '', optional: ref.optional ?? false,
    ...(source.secretRef ? { secretName: ref.name } : { configMapName: ref.name }),
  };
}

function decodeEnvFrom(m: EnvFromSource__Output): EnvFromSource {
  const ref = { name: m.secretName || m.configMapName, ...(m.optional ? { optional: true } : {}) };
  return { ...(m.prefix ? { prefix: m.prefix } : {}), ...(m.secretName ? { secretRef: ref } : { configMapRef: ref }) };
}

function encodeVolume(v: Volume): ConfigVolume {
  if (v.emptyDir) {
    const { medium = '', sizeLimit } = v.emptyDir;
    return { name: v.name, emptyDir: { medium, sizeLimit: sizeLimit === undefined ? '' : String(sizeLimit) } };
  }
  if (v.hostPath) return { name: v.name, hostPath: { path: v.hostPath.path, type: v.hostPath.type ?? '' } };
  if (v.localVolume) return { name: v.name, localVolumeName: v.localVolume.name };
  const source = v.configMap ?? v.secret!;
  return {
    name: v.name, ...(v.secret ? { secretName: v.secret.secretName } : { configMapName: v.configMap!.name }),
    items: (source.items ?? []).map((i) => ({ key: i.key, path: i.path, mode: i.mode ?? -1 })),
    defaultMode: source.defaultMode ?? -1, optional: source.optional ?? false,
  };
}

function decodeVolume(m: ConfigVolume__Output): Volume {
  if (m.emptyDir) {
    const medium = m.emptyDir.medium === 'Memory' ? 'Memory' : '';
    return { name: m.name, emptyDir: { ...(medium ? { medium } : {}), ...(m.emptyDir.sizeLimit ? { sizeLimit: m.emptyDir.sizeLimit } : {}) } };
  }
  if (m.hostPath) return { name: m.name, hostPath: { path: m.hostPath.path, ...(m.hostPath.type ? { type: m.hostPath.type as HostPathType } : {}) } };
  if (m.localVolumeName) return { name: m.name, localVolume: { name: m.localVolumeName } };
  const source = {
    ...(m.items.length ? { items: m.items.map((i) => ({ key: i.key, path: i.path, ...(i.mode >= 0 ? { mode: i.mode } : {}) })) } : {}),
    ...(m.defaultMode >= 0 ? { defaultMode: m.defaultMode } : {}),
    ...(m.optional ? { optional: true } : {}),
  };
  return m.secretName ? { name: m.name, secret: { secretName: m.secretName, ...source } } : { name: m.name, configMap: { name: m.configMapName, ...source } };
}

function decodeMount(m: VolumeMount__Output): VolumeMount {
  return { name: m.name, mountPath: m.mountPath, ...(m.readOnly ? { readOnly: true } : {}), ...(m.subPath ? { subPath: m.subPath } : {}) };
}

export function encodeConfigs(configs: ConfigData[]): ConfigDataMessage[] {
  return configs.map((c) => ({ kind: c.kind, namespace: c.namespace, name: c.name, data: c.data, version: c.version }));
}

export function decodeConfigs(messages: ConfigData__Output[] | undefined): ConfigData[] {
  return (messages ?? []).filter((m) => m.kind === 'ConfigMap' || m.kind === 'Secret').map((m) => ({
    kind: m.kind as ConfigData['kind'], namespace: m.namespace, name: m.name, version: m.version,
    data: Object.fromEntries(Object.entries(m.data ?? {}).map(([key, value]) => [key, Buffer.from(value)])),
  }));
}
