/** Reads YAML manifests (several `---` documents per file, or stdin) with errors naming file and document. */
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** The API (or the conversion) refused the manifests: one `FILE: document N: PATH: MESSAGE` line per problem. */
export class ManifestRejectedError extends Error {
  /** `outcome`: what did not happen, e.g. "nothing was applied"; `warnings` are printed before the problems. */
  constructor(readonly lines: string[], readonly outcome = 'nothing was applied', readonly warnings: string[] = []) {
    super(`${lines.join('\n')}\n${outcome}`);
    this.name = 'ManifestRejectedError';
  }
}

export interface ParsedManifests {
  /** "<stdin>" or the file name as the user wrote it. */
  source: string;
  documents: unknown[];
  /** 1-based number of each document in the file (empty documents are skipped, so they may differ). */
  numbers: number[];
}

export function readManifestFile(file: string): ParsedManifests {
  const source = file === '-' ? '<stdin>' : file;
  return parseManifests(readText(file, source), source);
}

function readText(file: string, source: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (code ?? (error as Error).message);
    throw new ManifestError(`${source}: cannot read: ${why}`);
  }
}

/**
 * A plain `0NNN` (octal digits after a leading 0) is octal in tide/v1 documents too, as YAML 1.1
 * (and so Kubernetes) reads it: a volume's `defaultMode: 0400` is 256, not the decimal 400 (0620)
 * that YAML 1.2 would make of it. Only that form: `420` stays decimal, `0o400` is YAML 1.2's octal.
 */
const LEADING_ZERO_OCTAL = {
  identify: (value: unknown) => typeof value === 'number', default: true, tag: 'tag:yaml.org,2002:int', format: 'OCT',
  test: /^0[0-7]+$/, resolve: (text: string) => parseInt(text, 8),
};

/**
 * Parses every document; a document that is empty (e.g. after a trailing ---) is skipped. A
 * Kubernetes document (an apiVersion other than tide/v1) is read as YAML 1.1, as Kubernetes reads
 * it: `defaultMode: 0400` is octal there (256), while YAML 1.2 would make it the decimal 400; a
 * tide/v1 document as YAML 1.2 with that octal form (LEADING_ZERO_OCTAL).
 */
export function parseManifests(text: string, source: string): ParsedManifests {
  const documents: unknown[] = [];
  const numbers: number[] = [];
  const asYaml11 = parseAllDocuments(text, { version: '1.1' });
  parseAllDocuments(text, { customTags: (tags) => [LEADING_ZERO_OCTAL, ...tags] }).forEach((parsed, index) => {
    const number = index + 1;
    // Converted with the alias limit from the first look on: the check for Kubernetes reads values too.
    const plain = parsed.errors.length === 0 ? toJs(parsed, source, number) : undefined;
    const kube = plain !== undefined && isKubernetes(plain) && asYaml11[index]?.errors.length === 0;
    const doc = kube ? asYaml11[index] : parsed;
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0]?.line;
      throw new ManifestError(`${source}: document ${number}: invalid YAML${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0].replace(/:\s*$/, '')}`);
    }
    const value = kube ? toJs(doc, source, number) : plain;
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(`${source}: document ${number}: expected a mapping (apiVersion, kind, metadata, spec), got ${Array.isArray(value) ? 'a list' : `"${String(value)}"`}`);
    }
    documents.push(value);
    numbers.push(number);
  });
  if (documents.length === 0) throw new ManifestError(`${source}: no documents found`);
  return { source, documents, numbers };
}

function isKubernetes(value: unknown): boolean {
  const apiVersion = (value as { apiVersion?: unknown } | null)?.apiVersion;
  return typeof value === 'object' && value !== null && typeof apiVersion === 'string' && apiVersion !== 'tide/v1';
}

/**
 * How many times aliases may be expanded in one document (the yaml package's default, made explicit):
 * a few `*anchor` references are ordinary YAML, thousands are a "billion laughs" that would take
 * the memory of the machine.
 */
export const MAX_ALIAS_EXPANSIONS = 100;

function toJs(doc: ReturnType<typeof parseAllDocuments>[number], source: string, number: number): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new ManifestError(`${source}: document ${number}: refused: its aliases (*name) expand more than ${MAX_ALIAS_EXPANSIONS} times, as a YAML alias bomb does`);
    }
    throw new ManifestError(`${source}: document ${number}: invalid YAML: ${(error as Error).message}`);
  }
}

/** "FILE: document N: PATH: MESSAGE", with N counted in the file as the user sees it. */
export function detailLine(manifests: ParsedManifests, detail: { document: number; path: string; message: string }): string {
  const number = manifests.numbers[detail.document] ?? detail.document + 1;
  return `${manifests.source}: document ${number}: ${detail.path || '(document)'}: ${detail.message}`;
}
