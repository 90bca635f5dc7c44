/**
 * kubectl-like output: columns padded to their widest cell, three spaces apart; `describe`'s aligned
 * "Field: value" lines; ages like kubectl's.
 */
import { stringify } from 'yaml';

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** 45s, 5m30s, 42m, 5h12m, 30h, 6d3h, 40d (kubectl's HumanDuration, roughly). */
export function formatAge(timestamp: string | undefined, nowMs = Date.now()): string {
  const start = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(start)) return '<unknown>';
  const seconds = Math.max(0, Math.floor((nowMs - start) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`;
  if (hours < 3) return `${minutes}m`;
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  if (days < 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  return `${days}d`;
}

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if (value === 'wide' || value === 'json' || value === 'yaml') return value;
  throw new OutputFormatError(`unknown output format "${value}" (use -o wide, -o json or -o yaml)`);
}

export class OutputFormatError extends Error {}

export function formatStructured(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}

export type Field = [label: string, value: string | undefined];

/** "Label:  value" lines, values aligned; a field without a value is left out. */
export function fields(list: Field[]): string[] {
  const shown = list.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const width = Math.max(...shown.map(([label]) => label.length + 1));
  return shown.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`);
}

export function indent(text: string, by = '  '): string {
  return text.split('\n').map((line) => (line ? by + line : line)).join('\n');
}
