/**
 * A pod's one container → the fields of a Tide Service spec: image, command, args, env, envFrom,
 * ports, resources, working dir, mounts (probes, lifecycle and security in their own files).
 */
import { OriginRecorder } from './origin';
import { convertLifecycle, convertProbes } from './probe.convert';
import { DocContext, Json, Report, Rules, applyRules, ignored, isObject, listAt, objectAt, onlyDefault, refused } from './report';

const CONTAINER_RULES: Rules = {
  name: 'drop', image: 'use', command: 'use', args: 'use', workingDir: 'use', env: 'use', envFrom: 'use', ports: 'use',
  resources: 'use', readinessProbe: 'use', livenessProbe: 'use', startupProbe: 'use', lifecycle: 'use', volumeMounts: 'use',
  securityContext: 'use',
  imagePullPolicy: ignored("each node runs the image from its own store (tsctl image import or build): nothing is pulled"),
  terminationMessagePath: ignored('Tide keeps the last exit code, signal and reason of a replica instead'),
  terminationMessagePolicy: ignored('Tide keeps the last exit code, signal and reason of a replica instead'),
  resizePolicy: ignored('a change of resources rolls the service in Tide'),
  stdin: onlyDefault([false], 'a replica has no stdin in Tide (tsctl exec -i gives one to a command)'),
  stdinOnce: onlyDefault([false], 'a replica has no stdin in Tide'),
  tty: onlyDefault([false], 'a replica has no terminal in Tide (tsctl exec -t gives one to a command)'),
  volumeDevices: onlyDefault([], 'Tide has no raw block devices'),
  restartPolicy: refused('a container restartPolicy makes a sidecar; Tide runs one container per replica'),
};

const ENV_RULES: Rules = { name: 'use', value: 'use', valueFrom: 'use' };
const PORT_RULES: Rules = {
  containerPort: 'use', name: 'use',
  protocol: onlyDefault(['TCP'], 'Tide carries TCP only'),
  hostPort: refused("Tide publishes a port on every node's balancer instead: use a Service of type NodePort"),
  hostIP: refused("Tide publishes a port on every node's address: use a Service of type NodePort"),
};
const QUANTITIES = ['cpu', 'memory'];

/** A `$(NAME)` reference Kubernetes expands from the container's variables (`$$(` is an escaped one). */
const VARIABLE_REFERENCE = /(?<!\$)\$\(([^)]+)\)/g;

export interface ContainerResult {
  spec: Json;
  /** Container port names, for Services whose targetPort names one. */
  portNames: Map<string, number>;
}

export function convertContainer(report: Report, ctx: DocContext, container: Json, path: string, origins: OriginRecorder): ContainerResult {
  applyRules(report, ctx, path, container, CONTAINER_RULES);
  const spec: Json = {};
  const take = (field: string, tide: string, value: unknown) => {
    if (value === undefined) return;
    spec[tide] = value;
    origins.record(`spec.${tide}`, `${path}.${field}`);
  };
  take('image', 'image', container.image);
  if (container.image === undefined) report.refuse(ctx, `${path}.image`, 'required: the image to run');
  take('workingDir', 'workingDir', container.workingDir);
  const env = convertEnv(report, ctx, container.env, `${path}.env`, origins);
  if (Object.keys(env).length) spec.env = env;
  checkReferences(report, ctx, container, path, env);
  take('command', 'command', container.command);
  take('args', 'args', container.args);
  if (container.args !== undefined && container.command === undefined) {
    report.refuse(ctx, `${path}.args`, "args without command: Kubernetes runs the image's ENTRYPOINT with them, Tide runs them as the whole command line; give command (the ENTRYPOINT) too");
  }
  const envFrom = convertEnvFrom(report, ctx, container.envFrom, `${path}.envFrom`);
  if (envFrom.length) take('envFrom', 'envFrom', envFrom);
  const { ports, names } = convertPorts(report, ctx, container.ports, `${path}.ports`, origins);
  if (ports.length) spec.ports = ports;
  const resources = convertResources(report, ctx, container.resources, `${path}.resources`);
  if (resources) take('resources', 'resources', resources);
  const probes = convertProbes(report, ctx, container, path, origins);
  if (probes) spec.probes = probes;
  convertLifecycle(report, ctx, container.lifecycle, `${path}.lifecycle`);
  const mounts = convertMounts(report, ctx, container.volumeMounts, `${path}.volumeMounts`);
  if (mounts.length) take('volumeMounts', 'volumeMounts', mounts);
  return { spec, portNames: names };
}

function convertEnv(report: Report, ctx: DocContext, value: unknown, path: string, origins: OriginRecorder): Json {
  const env: Json = {};
  listAt(report, ctx, value, path).forEach((item, j) => {
    const at = `${path}[${j}]`;
    if (!isObject(item)) return report.refuse(ctx, at, 'must be a mapping { name, value | valueFrom }');
    applyRules(report, ctx, at, item, ENV_RULES);
    if (typeof item.name !== 'string' || item.name === '') return report.refuse(ctx, `${at}.name`, 'required: the variable name');
    if (item.name in env) report.warn(ctx, at, `"${item.name}" is set twice: the later one wins, as in Kubernetes`);
    delete env[item.name];
    env[item.name] = item.valueFrom === undefined ? (item.value ?? '') : convertValueFrom(report, ctx, item.valueFrom, `${at}.valueFrom`);
    origins.record(`spec.env.${item.name}`, at);
  });
  return env;
}

function convertValueFrom(report: Report, ctx: DocContext, value: unknown, path: string): Json {
  const from = objectAt(report, ctx, value, path) ?? {};
  applyRules(report, ctx, path, from, {
    configMapKeyRef: 'use', secretKeyRef: 'use',
    fieldRef: refused("Tide does not fill variables from the pod's fields (a replica's name is its hostname: $HOSTNAME)"),
    resourceFieldRef: refused("Tide does not fill variables from the container's resources"),
    fileKeyRef: refused('Tide does not fill variables from files'),
  });
  return { valueFrom: from };
}

function convertEnvFrom(report: Report, ctx: DocContext, value: unknown, path: string): Json[] {
  return listAt(report, ctx, value, path).map((item, j) => {
    const source = objectAt(report, ctx, item, `${path}[${j}]`) ?? {};
    applyRules(report, ctx, `${path}[${j}]`, source, { configMapRef: 'use', secretRef: 'use', prefix: 'use' });
    return source;
  });
}

/** Kubernetes expands `$(NAME)` in values, command and args from the container's variables; Tide passes text as written. */
function checkReferences(report: Report, ctx: DocContext, container: Json, path: string, env: Json): void {
  const check = (text: unknown, at: string, defined: (name: string) => boolean) => {
    if (typeof text !== 'string') return;
    for (const match of text.matchAll(VARIABLE_REFERENCE)) {
      if (defined(match[1])) report.refuse(ctx, at, `Kubernetes expands $(${match[1]}) here; Tide passes the text as written: write the value, or run a shell that expands $${match[1]}`);
    }
  };
  // A value sees the variables defined before it; command and args see them all.
  const earlier: string[] = [];
  listAt(report, ctx, container.env, `${path}.env`).forEach((item, j) => {
    if (!isObject(item)) return;
    check(item.value, `${path}.env[${j}].value`, (name) => earlier.includes(name));
    if (typeof item.name === 'string') earlier.push(item.name);
  });
  for (const field of ['command', 'args']) {
    const list = container[field];
    if (Array.isArray(list)) list.forEach((arg, i) => check(arg, `${path}.${field}[${i}]`, (name) => name in env));
  }
}

function convertPorts(report: Report, ctx: DocContext, value: unknown, path: string, origins: OriginRecorder): { ports: Json[]; names: Map<string, number> } {
  const ports: Json[] = [];
  const names = new Map<string, number>();
  listAt(report, ctx, value, path).forEach((item, j) => {
    const at = `${path}[${j}]`;
    if (!isObject(item)) return report.refuse(ctx, at, 'must be a mapping { containerPort, name? }');
    applyRules(report, ctx, at, item, PORT_RULES);
    const port: Json = { containerPort: item.containerPort };
    if (item.name !== undefined) port.name = item.name;
    if (typeof item.name === 'string' && typeof item.containerPort === 'number') names.set(item.name, item.containerPort);
    origins.record(`spec.ports[${ports.length}]`, at);
    ports.push(port);
  });
  return { ports, names };
}

function convertResources(report: Report, ctx: DocContext, value: unknown, path: string): Json | undefined {
  const resources = objectAt(report, ctx, value, path);
  if (!resources) return undefined;
  applyRules(report, ctx, path, resources, { requests: 'use', limits: 'use', claims: onlyDefault([], 'Tide has no dynamic resource claims') });
  const out: Json = {};
  for (const group of ['requests', 'limits']) {
    const quantities = objectAt(report, ctx, resources[group], `${path}.${group}`);
    if (!quantities) continue;
    const kept: Json = {};
    for (const [name, quantity] of Object.entries(quantities)) {
      if (QUANTITIES.includes(name)) kept[name] = quantity;
      else if (name === 'ephemeral-storage') report.warn(ctx, `${path}.${group}.${name}`, 'ignored: Tide does not count or limit a replica\'s disk use');
      else report.refuse(ctx, `${path}.${group}.${name}`, `Tide schedules and limits cpu and memory only; it has no "${name}"`);
    }
    if (Object.keys(kept).length) out[group] = kept;
  }
  return Object.keys(out).length ? out : undefined;
}

function convertMounts(report: Report, ctx: DocContext, value: unknown, path: string): Json[] {
  return listAt(report, ctx, value, path).map((item, j) => {
    const at = `${path}[${j}]`;
    const mount = objectAt(report, ctx, item, at) ?? {};
    applyRules(report, ctx, at, mount, {
      name: 'use', mountPath: 'use', readOnly: 'use', subPath: 'use',
      subPathExpr: refused('Tide does not expand variables in sub paths: use subPath'),
      mountPropagation: onlyDefault(['None'], 'mounts do not propagate between a Tide container and the node'),
      recursiveReadOnly: onlyDefault(['Disabled'], 'Tide has no recursive read-only mounts'),
    });
    const out: Json = { name: mount.name, mountPath: mount.mountPath };
    if (mount.readOnly !== undefined) out.readOnly = mount.readOnly;
    if (mount.subPath !== undefined && mount.subPath !== '') out.subPath = mount.subPath;
    return out;
  });
}
