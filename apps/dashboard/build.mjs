#!/usr/bin/env node
// Bundles the dashboard (src/main.ts and its CSS) with esbuild into bundle/: assets/ with content
// hashes in their names, and index.html naming them (the control plane serves bundle/ at /ui/:
// apps/control-plane/src/ui). Types are checked by `tsc -b` (scripts/build.sh), not here.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'bundle');

async function main() {
  fs.rmSync(out, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'src/main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome111', 'firefox115', 'safari16'],
    outdir: path.join(out, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const js = outputs.find((file) => file.endsWith('.js'));
  const css = outputs.find((file) => file.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild made ${outputs.join(', ')}: expected one .js and one .css`);
  const page = fs.readFileSync(path.join(here, 'index.html'), 'utf8').replace('{{js}}', js).replace('{{css}}', css);
  fs.writeFileSync(path.join(out, 'index.html'), page);
}

main().catch((error) => {
  console.error(`dashboard build: ${error.message}`);
  process.exit(1);
});
