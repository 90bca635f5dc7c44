/**
 * Pod and container securityContext → Tide's `user`, `readOnlyRootFilesystem`, `privileged` and
 * `securityContext.seccompProfile`. A request for less privilege than Tide gives (dropped
 * capabilities, a Localhost seccomp profile) is refused, not ignored: running it with more would
 * weaken it without the user knowing. Without a seccompProfile Kubernetes runs Unconfined; Tide,
 * like Docker, runs its default profile (RuntimeDefault): stricter, never weaker.
 */
import { OriginRecorder } from './origin';
import { DocContext, Json, Report, Rules, Verdict, applyRules, ignored, isObject, objectAt, onlyDefault, refused } from './report';

/** What every Tide container keeps (libs/runtime capabilities.ts: Docker's default set). */
const TIDE_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

const unconfinedOnly = (what: string) => (value: unknown): Verdict | undefined =>
  !isObject(value) || value.type === undefined || value.type === 'Unconfined'
    ? undefined
    : refused(`Tide has no ${what} yet: remove it to run unconfined (Kubernetes' own default)`);

const SHARED_RULES: Rules = {
  runAsUser: 'use', runAsGroup: 'use', runAsNonRoot: 'use',
  seccompProfile: (value: unknown): Verdict | undefined =>
    !isObject(value) || value.type === undefined || value.type === 'RuntimeDefault' || value.type === 'Unconfined'
      ? undefined
      : refused(`Tide has no ${String(value.type)} seccomp profiles: RuntimeDefault (its default) or Unconfined (admin only)`),
  appArmorProfile: unconfinedOnly('AppArmor profile'),
  seLinuxOptions: onlyDefault([], 'Tide sets no SELinux labels'),
  windowsOptions: ignored('Tide runs Linux containers'),
};
const POD_RULES: Rules = {
  ...SHARED_RULES,
  fsGroup: refused('Tide does not change the group of volume files nor add a supplementary group'),
  fsGroupChangePolicy: ignored('it goes with fsGroup, which Tide does not have'),
  supplementalGroups: onlyDefault([], 'Tide adds no supplementary groups (a user:group in runAsUser/runAsGroup is what it has)'),
  supplementalGroupsPolicy: ignored('Tide adds no supplementary groups'),
  sysctls: onlyDefault([], 'Tide sets no sysctls in a container'),
  seLinuxChangePolicy: ignored('Tide sets no SELinux labels'),
};
const CONTAINER_RULES: Rules = {
  ...SHARED_RULES,
  readOnlyRootFilesystem: 'use', privileged: 'use', allowPrivilegeEscalation: 'use', capabilities: 'use',
  procMount: onlyDefault(['Default'], 'Tide mounts /proc one way'),
};

export function convertSecurity(report: Report, ctx: DocContext, podValue: unknown, podPath: string, containerValue: unknown, containerPath: string, origins: OriginRecorder): Json {
  const pod = objectAt(report, ctx, podValue, podPath) ?? {};
  const container = objectAt(report, ctx, containerValue, containerPath) ?? {};
  applyRules(report, ctx, podPath, pod, POD_RULES);
  applyRules(report, ctx, containerPath, container, CONTAINER_RULES);
  // The container's setting wins over the pod's, as in Kubernetes.
  const pick = (field: string) => (container[field] !== undefined ? { value: container[field], path: `${containerPath}.${field}` }
    : pod[field] !== undefined ? { value: pod[field], path: `${podPath}.${field}` } : undefined);
  const out: Json = {};
  const uid = pick('runAsUser');
  const gid = pick('runAsGroup');
  if (uid) {
    out.user = gid ? `${String(uid.value)}:${String(gid.value)}` : String(uid.value);
    origins.record('spec.user', uid.path);
  } else if (gid) {
    report.refuse(ctx, gid.path, "Tide sets a group together with a user: give runAsUser too (the image's user cannot be kept with another group)");
  }
  const nonRoot = pick('runAsNonRoot');
  if (nonRoot?.value === true) {
    if (!uid) report.refuse(ctx, nonRoot.path, "Tide cannot check the image's user before starting it: give runAsUser (a uid other than 0)");
    else if (uid.value === 0) report.refuse(ctx, nonRoot.path, 'runAsUser is 0 (root): Kubernetes would refuse to start this container');
  }
  if (container.readOnlyRootFilesystem !== undefined) {
    out.readOnlyRootFilesystem = container.readOnlyRootFilesystem;
    origins.record('spec.readOnlyRootFilesystem', `${containerPath}.readOnlyRootFilesystem`);
  }
  if (container.privileged === true) {
    out.privileged = true;
    origins.record('spec.privileged', `${containerPath}.privileged`);
    report.warn(ctx, `${containerPath}.privileged`, 'a privileged container is admin only in Tide');
  } else if (container.allowPrivilegeEscalation === true) {
    report.refuse(ctx, `${containerPath}.allowPrivilegeEscalation`, 'Tide always sets no_new_privs: setuid programs and file capabilities never raise privileges');
  }
  const seccomp = pick('seccompProfile');
  if (isObject(seccomp?.value) && seccomp.value.type === 'Unconfined') {
    out.securityContext = { seccompProfile: { type: 'Unconfined' } };
    origins.record('spec.securityContext.seccompProfile.type', `${seccomp.path}.type`);
    report.warn(ctx, seccomp.path, 'Unconfined (no seccomp filter) is admin only in Tide');
  }
  checkCapabilities(report, ctx, container.capabilities, `${containerPath}.capabilities`);
  return out;
}

/** Adding one Tide already keeps, or dropping one it never gives, changes nothing; anything else is refused. */
function checkCapabilities(report: Report, ctx: DocContext, value: unknown, path: string): void {
  const capabilities = objectAt(report, ctx, value, path);
  if (!capabilities) return;
  applyRules(report, ctx, path, capabilities, { add: 'use', drop: 'use' });
  const names = (list: unknown) => (Array.isArray(list) ? list.map((c) => String(c).toUpperCase().replace(/^CAP_/, '')) : []);
  const missing = names(capabilities.add).filter((c) => !TIDE_CAPABILITIES.includes(c));
  if (missing.length) report.refuse(ctx, `${path}.add`, `Tide keeps Docker's default capability set and cannot add ${missing.join(', ')}`);
  const kept = names(capabilities.drop).filter((c) => c === 'ALL' || TIDE_CAPABILITIES.includes(c));
  if (kept.length) {
    report.refuse(ctx, `${path}.drop`, `Tide keeps Docker's default capability set (${TIDE_CAPABILITIES.join(', ')}) and cannot drop ${kept.join(', ')} yet: remove them to run with that set`);
  }
}
