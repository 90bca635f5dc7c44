#!/usr/bin/env node
// Removes compiled files whose TypeScript source is gone (tsc -b never deletes them), so that a
// renamed or deleted spec cannot keep running from a stale dist/ in a working tree.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const projects = ['libs', 'apps'].flatMap((dir) => fs.readdirSync(path.join(root, dir)).map((p) => path.join(root, dir, p)));
projects.push(path.join(root, 'e2e'), path.join(root, 'bench'));
for (const project of projects) {
  const dist = path.join(project, 'dist');
  if (!fs.existsSync(dist)) continue;
  for (const entry of fs.readdirSync(dist, { recursive: true })) {
    const file = String(entry);
    const match = /^(.*)\.(js|d\.ts|js\.map)$/.exec(file);
    if (!match) continue;
    if (!fs.existsSync(path.join(project, 'src', `${match[1]}.ts`))) fs.rmSync(path.join(dist, file), { force: true });
  }
}
