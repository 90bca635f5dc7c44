/** `tsctl image ls`: REPOSITORY TAG IMAGE ID SIZE NODES, as `docker images` prints them. */
import { ClusterImage, parseImageReference } from '@tide/api';
import { formatTable } from './table';

export function imagesTable(images: ClusterImage[]): string {
  return formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE', 'NODES'], images.map((image) => {
    const { name, tag } = parseImageReference(image.ref);
    return [name, tag, shortId(image.id), humanSize(image.sizeBytes), image.nodes.join(',')];
  }));
}

/** The first 12 hex digits of "sha256:…", as Docker shows image ids. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Decimal units with three significant digits, as Docker prints sizes: 0B, 999B, 1.23kB, 45.6MB, 1.2GB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))}${units[unit]}`;
}

/** `tsctl image history`: LAYER CREATED CREATED BY SIZE, newest first, as `docker history` prints it. */
export function historyTable(history: { layer?: string; created?: string; createdBy: string; sizeBytes: number; comment?: string }[]): string {
  return formatTable(['LAYER', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], history.map((step) => [
    step.layer ? shortId(step.layer) : '<none>', step.created ?? '', oneLine(step.createdBy), humanSize(step.sizeBytes), step.comment ?? '',
  ]));
}

/** Long steps are cut as docker history cuts them (--no-trunc aside). */
function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
