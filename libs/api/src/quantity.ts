/**
 * Kubernetes-style resource quantities: cpu in cores or millicores, memory in bytes with binary
 * (Ki, Mi, Gi, Ti) or decimal (k, M, G, T) suffixes.
 */

export class QuantityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantityError';
  }
}

const MEMORY_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

const NUMBER = /^(\d+(?:\.\d+)?|\.\d+)(?:[eE]([+-]?\d+))?$/;

/** "250m" → 250, "0.5" → 500, 2 → 2000 (millicores). */
export function parseCpu(q: string | number): number {
  const text = String(q).trim();
  const milli = text.endsWith('m');
  const numeric = milli ? text.slice(0, -1) : text;
  if (!NUMBER.test(numeric)) {
    throw new QuantityError(`invalid quantity "${text}" (use 250m, 0.5 or 2)`);
  }
  const value = Number(numeric) * (milli ? 1 : 1000);
  if (!Number.isInteger(Math.round(value * 1e6) / 1e6) || value % 1 !== 0) {
    throw new QuantityError(`invalid quantity "${text}": cpu has a precision of 1m`);
  }
  return value;
}

/** "64Mi" → 67108864, "1G" → 1e9, 1024 → 1024 (bytes). */
export function parseMemory(q: string | number): number {
  const text = String(q).trim();
  const match = /^([0-9.eE+-]+?)([kMGTP]i?)?$/.exec(text);
  const suffix = match?.[2] ?? '';
  if (!match || !NUMBER.test(match[1]) || !(suffix in MEMORY_SUFFIX)) {
    throw new QuantityError(`invalid quantity "${text}" (use bytes or a suffix: 64Mi, 1Gi, 500M)`);
  }
  return Math.ceil(Number(match[1]) * MEMORY_SUFFIX[suffix]);
}

export function formatCpu(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function formatMemory(bytes: number): string {
  const units = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const;
  for (const [suffix, size] of units) {
    if (bytes >= size) return bytes % size === 0 ? `${bytes / size}${suffix}` : `${(bytes / size).toFixed(1)}${suffix}`;
  }
  return String(bytes);
}
