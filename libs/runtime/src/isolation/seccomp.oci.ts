/**
 * The same default profile in the OCI runtime spec's form (`linux.seccomp` of config.json), for
 * references that run runc with it (the start benchmark's `--runc-seccomp`): what Docker hands runc.
 */
import { ALLOWED_SYSCALLS, ARCH_ALLOWED_SYSCALLS, ARGUMENT_RULES, ENOSYS_SYSCALLS } from './seccomp.profile';
import { ENOSYS, EPERM } from './seccomp.filter';
import { isSeccompArch, syscallNumbers } from './syscall.numbers';

const OCI_ARCH = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' } as const;

export function ociSeccompProfile(arch: string = process.arch): Record<string, unknown> {
  if (!isSeccompArch(arch)) throw new Error(`no seccomp syscall table for architecture ${arch}`);
  const known = syscallNumbers(arch);
  const names = [...ALLOWED_SYSCALLS, ...ARCH_ALLOWED_SYSCALLS[arch]].filter((name) => known.has(name) && !(name in ARGUMENT_RULES));
  const ruled = Object.entries(ARGUMENT_RULES).flatMap(([name, rule]) => {
    if (rule.kind === 'maskedZero') return [{ names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: rule.arg, value: rule.mask, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }];
    if (rule.kind === 'notEqual') return [{ names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: rule.arg, value: rule.value, op: 'SCMP_CMP_NE' }] }];
    return rule.values.map((value) => ({ names: [name], action: 'SCMP_ACT_ALLOW', args: [{ index: rule.arg, value, op: 'SCMP_CMP_EQ' }] }));
  });
  return {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: EPERM, architectures: [OCI_ARCH[arch]],
    syscalls: [
      { names, action: 'SCMP_ACT_ALLOW' }, ...ruled,
      { names: [...ENOSYS_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
    ],
  };
}
