/**
 * The default seccomp profile (seccomp.profile.ts) compiled to classic BPF, the form
 * seccomp(SECCOMP_SET_MODE_FILTER) takes, without libseccomp. The program:
 *
 * 1. loads seccomp_data.arch: anything but this machine's native ABI (i386 calls through int 0x80 on
 *    x86_64, say) kills the process, since the numbers below mean other calls there;
 * 2. loads seccomp_data.nr and walks a balanced tree of number ranges (JGE), so that a call costs
 *    about log2(ranges) comparisons rather than one per allowed call;
 * 3. ends in a leaf: allow, EPERM (not in the profile), ENOSYS (clone3, and numbers above every call
 *    Tide knows, so that libc's fallbacks for calls newer than this table work, as runc does), or an
 *    argument check (clone, personality, socket) that ends in allow or EPERM.
 *
 * Every path loads only nr and arch until a leaf, the subset the kernel's seccomp cache emulates
 * (kernel/seccomp.c, seccomp_cache_prepare): a call whose leaf is "allow" is then allowed from a
 * per-filter bitmap without running the program at all.
 */
import {
  ALLOWED_SYSCALLS, ARCH_ALLOWED_SYSCALLS, ARGUMENT_RULES, ArgumentRule, ENOSYS_SYSCALLS,
} from './seccomp.profile';
import { AUDIT_ARCH, SeccompArch, X32_SYSCALL_BIT, isSeccompArch, syscallNumbers } from './syscall.numbers';

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const EPERM = 1;
export const ENOSYS = 38;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JGE_K = 0x35;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;
/** Offsets in struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }. */
const NR_OFFSET = 0;
const ARCH_OFFSET = 4;
const argLow = (arg: number) => 16 + arg * 8; // little-endian, both architectures
const argHigh = (arg: number) => argLow(arg) + 4;
const MAX_JUMP = 255;

export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Action = { ret: number } | { rule: ArgumentRule };

/** [start, action]: the action holds for numbers from start up to the next segment's start. */
type Segment = { start: number; action: Action };

const ret = (k: number): Instruction => ({ code: RET_K, jt: 0, jf: 0, k });
const load = (offset: number): Instruction => ({ code: LD_W_ABS, jt: 0, jf: 0, k: offset });
const jump = (code: number, k: number, jt: number, jf: number): Instruction => ({ code, jt, jf, k });

export class SeccompError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeccompError';
  }
}

/** The default profile as a BPF program for `arch`; throws a SeccompError for an architecture it has no table for. */
export function compileDefaultProfile(arch: string): Instruction[] {
  if (!isSeccompArch(arch)) {
    throw new SeccompError(`no seccomp syscall table for architecture ${arch} (Tide knows x64 and arm64): ` +
      'run the container with securityContext.seccompProfile.type: Unconfined, or add the table to syscall.numbers.ts');
  }
  const tree = emitTree(segments(arch));
  return [
    load(ARCH_OFFSET),
    jump(JMP_JEQ_K, AUDIT_ARCH[arch], 1, 0),
    ret(SECCOMP_RET_KILL_PROCESS),
    load(NR_OFFSET),
    ...tree,
  ];
}

/** struct sock_filter[] as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k, in host byte order. */
export function encodeProgram(program: Instruction[]): Buffer {
  const buffer = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    buffer.writeUInt16LE(insn.code, i * 8);
    buffer.writeUInt8(insn.jt, i * 8 + 2);
    buffer.writeUInt8(insn.jf, i * 8 + 3);
    buffer.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buffer;
}

/** The action for every number of [0, 2^32), as sorted segments, neighbours with equal actions merged. */
function segments(arch: SeccompArch): Segment[] {
  const numbers = syscallNumbers(arch);
  const byNumber = new Map<number, Action>();
  for (const name of [...ALLOWED_SYSCALLS, ...ARCH_ALLOWED_SYSCALLS[arch]]) {
    const nr = numbers.get(name);
    if (nr !== undefined) byNumber.set(nr, { ret: SECCOMP_RET_ALLOW });
  }
  for (const name of ENOSYS_SYSCALLS) {
    const nr = numbers.get(name);
    if (nr !== undefined) byNumber.set(nr, { ret: SECCOMP_RET_ERRNO | ENOSYS });
  }
  for (const [name, rule] of Object.entries(ARGUMENT_RULES)) {
    const nr = numbers.get(name);
    if (nr !== undefined) byNumber.set(nr, { rule });
  }
  const highest = Math.max(...numbers.values());
  const refused: Action = { ret: SECCOMP_RET_ERRNO | EPERM };
  const out: Segment[] = [];
  const add = (start: number, action: Action) => {
    const last = out[out.length - 1];
    if (last && 'ret' in last.action && 'ret' in action && last.action.ret === action.ret) return;
    out.push({ start, action });
  };
  for (let nr = 0; nr <= highest; nr++) add(nr, byNumber.get(nr) ?? refused);
  add(highest + 1, { ret: SECCOMP_RET_ERRNO | ENOSYS });
  if (arch === 'x64') add(X32_SYSCALL_BIT, refused);
  return out;
}

/**
 * A balanced tree over the segments: "nr >= middle start ? right : left". A conditional jump reaches
 * at most 255 instructions ahead; a left subtree longer than that is jumped over by a JA (32-bit offset).
 */
function emitTree(segs: Segment[]): Instruction[] {
  if (segs.length === 1) return emitLeaf(segs[0].action);
  const middle = segs.length >> 1;
  const left = emitTree(segs.slice(0, middle));
  const right = emitTree(segs.slice(middle));
  const pivot = segs[middle].start;
  if (left.length <= MAX_JUMP) return [jump(JMP_JGE_K, pivot, left.length, 0), ...left, ...right];
  return [jump(JMP_JGE_K, pivot, 0, 1), jump(JMP_JA, left.length, 0, 0), ...left, ...right];
}

/** A leaf: a return, or an argument check that ends in [ret allow, ret EPERM]. */
function emitLeaf(action: Action): Instruction[] {
  if ('ret' in action) return [ret(action.ret)];
  const rule = action.rule;
  const allowDeny = [ret(SECCOMP_RET_ALLOW), ret(SECCOMP_RET_ERRNO | EPERM)];
  if (rule.kind === 'maskedZero') {
    // JSET: jump if (A & k) != 0 → deny.
    return [load(argLow(rule.arg)), jump(JMP_JSET_K, rule.mask, 1, 0), ...allowDeny];
  }
  if (rule.kind === 'notEqual') {
    return [load(argLow(rule.arg)), jump(JMP_JEQ_K, rule.value, 1, 0), ...allowDeny];
  }
  // oneOf: the high word must be 0, then the low word one of the values.
  const n = rule.values.length;
  const checks = rule.values.map((value, i) => jump(JMP_JEQ_K, value >>> 0, n - i, 0));
  return [
    load(argHigh(rule.arg)), jump(JMP_JEQ_K, 0, 0, n + 1), // high word not 0: deny
    load(argLow(rule.arg)), ...checks,
    ret(SECCOMP_RET_ERRNO | EPERM), ret(SECCOMP_RET_ALLOW),
  ];
}
