/** Reads YAML manifests (several documents per file, or stdin) with errors that name file and document. */
import * as fs from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { UsageError } from './args';

export class ManifestError extends Error {}

export function readSource(file: string): string {
  if (file === '-') return fs.readFileSync(0, 'utf8');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Parses every document; empty documents (a trailing ---) are skipped. Document numbers are 1-based. */
export function parseManifests(text: string, source: string): { documents: unknown[]; numbers: number[] } {
  const documents: unknown[] = [];
  const numbers: number[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      const line = first.linePos?.[0]?.line;
      throw new ManifestError(`${source}: document ${index + 1}: invalid YAML${line ? ` at line ${line}` : ''}: ${first.message.split('\n')[0]}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) return;
    documents.push(value);
    numbers.push(index + 1);
  });
  if (documents.length === 0) throw new ManifestError(`${source}: no documents found`);
  return { documents, numbers };
}
