/**
 * Kubernetes documents of a manifest file → the tide/v1 objects tsctl sends (libs/kube). The
 * control plane takes tide/v1 only; the conversion happens here, before anything is sent.
 */
import { ObjectOrigin, convertManifests, isKubernetesDocument, sourceOf } from '@tide/kube';
import { ManifestRejectedError, ParsedManifests, detailLine } from './manifest';

export interface PreparedManifests {
  /** What to send: the file's documents as they are, or the converted objects. */
  documents: unknown[];
  /** `FILE: document N: PATH: warning: MESSAGE`, for stderr. */
  warnings: string[];
  /** A server detail about `documents[i]`, as a line naming the file's document and field. */
  detail(detail: { document: number; path: string; message: string }): string;
}

/** A file without Kubernetes documents is sent as written; one with any is converted as a whole. */
export function needsConversion(manifests: ParsedManifests): boolean {
  return manifests.documents.some(isKubernetesDocument);
}

/** Converts (when needed); throws ManifestRejectedError with every refusal, `outcome` saying what did not happen. */
export function prepareManifests(manifests: ParsedManifests, outcome = 'nothing was applied', always = false): PreparedManifests {
  if (!always && !needsConversion(manifests)) {
    return { documents: manifests.documents, warnings: [], detail: (d) => detailLine(manifests, d) };
  }
  const result = convertManifests(manifests.documents);
  const warnings = result.warnings.map((w) => detailLine(manifests, { ...w, message: `warning: ${w.message}` }));
  if (result.errors.length > 0) throw new ManifestRejectedError(result.errors.map((e) => detailLine(manifests, e)), outcome, warnings);
  return { documents: result.objects, warnings, detail: (d) => serverDetail(manifests, result.origins, d) };
}

/** The server speaks of the converted objects: say which document of the file, at which of its fields. */
function serverDetail(manifests: ParsedManifests, origins: ObjectOrigin[], detail: { document: number; path: string; message: string }): string {
  const origin = origins[detail.document];
  if (!origin) return detailLine(manifests, detail);
  const source = sourceOf(origin, detail.path);
  return detailLine(manifests, { document: source.document, path: source.path, message: detail.message });
}
