/** Test images for the registry e2e tests: OCI image layout archives, as `skopeo copy oci-archive:` reads them. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** An OCI image layout archive (what `skopeo copy oci-archive:` reads): the host's static busybox and a marker. */
export function ociArchive(dir: string, marker: string): string {
  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'sleep']) fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  fs.writeFileSync(path.join(root, 'marker.txt'), `${marker}\n`);
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs/sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const layerFile = path.join(dir, 'layer.tar');
  execFileSync('tar', ['-C', root, '-cf', layerFile, '.']);
  const layer = fs.readFileSync(layerFile);
  fs.writeFileSync(path.join(blobs, sha256(layer)), layer);
  const config = Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
  }));
  fs.writeFileSync(path.join(blobs, sha256(config)), config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha256(layer)}`, size: layer.length }],
  }));
  fs.writeFileSync(path.join(blobs, sha256(manifest)), manifest);
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length }],
  }));
  const archive = `${layout}.tar`;
  execFileSync('tar', ['-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return archive;
}

