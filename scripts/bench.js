#!/usr/bin/env node
// npm run bench -- <name> [--json] [options]: runs e2e/dist/bench/<name>.bench.js (build first).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [name, ...rest] = process.argv.slice(2);
// Benchmarks that drive whole clusters live in e2e/, those that drive one lib in bench/.
const dirs = [path.join(__dirname, '..', 'e2e', 'dist', 'bench'), path.join(__dirname, '..', 'bench', 'dist')];
const found = new Map();
for (const dir of dirs.filter((d) => fs.existsSync(d))) {
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.bench.js'))) found.set(f.replace('.bench.js', ''), path.join(dir, f));
}
const available = [...found.keys()];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--json]; benchmarks: ${available.join(', ') || '(none built: run npm run build)'}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, [found.get(name), ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
