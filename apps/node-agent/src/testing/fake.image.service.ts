/**
 * An in-memory ImageService for the agent's HTTP tests. Its "archives" are text: a first line
 * `tide-fake-archive` and one image ref per line (exportArchive writes what importArchive reads, so
 * an export can be imported elsewhere); builds read the Dockerfile of the unpacked context, log one
 * step per instruction, and fail at `RUN false` or a COPY of a file the context lacks.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BuildOptions, ImageInfo, ImageService, RuntimeError } from '@tide/runtime';

export const FAKE_ARCHIVE_MAGIC = 'tide-fake-archive';

export class FakeImageError extends Error {
  override readonly name = 'ImageError';
}

export class FakeImageService implements ImageService {
  readonly images = new Map<string, ImageInfo>();
  /** Context files seen by the last build, relative to its context dir. */
  lastContext: string[] = [];

  async importArchive(file: string): Promise<ImageInfo[]> {
    const lines = (await fs.promises.readFile(file, 'utf8')).split('\n').filter(Boolean);
    if (lines[0] !== FAKE_ARCHIVE_MAGIC) throw new FakeImageError(`${path.basename(file)}: not an image archive (no index.json or manifest.json)`);
    return lines.slice(1).map((ref) => this.add(ref, `imported ${ref}`));
  }

  async list(): Promise<ImageInfo[]> {
    return [...this.images.values()];
  }

  async remove(ref: string): Promise<void> {
    if (!this.images.delete(ref)) throw new RuntimeError('NotFound', `image "${ref}" not found on this node`);
  }

  async exportArchive(ref: string, out: NodeJS.WritableStream): Promise<void> {
    if (!this.images.has(ref)) throw new RuntimeError('NotFound', `image "${ref}" not found on this node`);
    out.write(`${FAKE_ARCHIVE_MAGIC}\n${ref}\n`);
  }

  async build(options: BuildOptions): Promise<ImageInfo> {
    this.lastContext = (fs.readdirSync(options.contextDir, { recursive: true }) as string[]).sort();
    const dockerfile = await fs.promises.readFile(path.join(options.contextDir, options.dockerfile ?? 'Dockerfile'), 'utf8');
    const steps = dockerfile.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    for (const [i, step] of steps.entries()) {
      options.log(`Step ${i + 1}/${steps.length} : ${step}`);
      const copied = /^COPY\s+(\S+)/.exec(step)?.[1];
      if (step === 'RUN false') throw new FakeImageError(`step ${i + 1}/${steps.length} "${step}": exit code 1`);
      if (copied && !fs.existsSync(path.join(options.contextDir, copied))) {
        throw new FakeImageError(`step ${i + 1}/${steps.length} "${step}": ${copied} is not in the build context`);
      }
    }
    options.log(`Successfully tagged ${options.tag}`);
    return this.add(options.tag, dockerfile);
  }

  add(ref: string, content: string): ImageInfo {
    const id = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const info: ImageInfo = { ref, id, layers: [id], sizeBytes: content.length * 1000, created: '2024-01-01T00:00:00Z' };
    this.images.set(ref, info);
    return info;
  }
}
