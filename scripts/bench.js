#!/usr/bin/env node
// npm run bench -- <name> [--json] [options]: runs e2e/dist/bench/<name>.bench.js (build first).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [name, ...rest] = process.argv.slice(2);
const dir = path.join(__dirname, '..', 'e2e', 'dist', 'bench');
const available = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((f) => f.endsWith('.bench.js')).map((f) => f.replace('.bench.js', ''))
  : [];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [--json]; benchmarks: ${available.join(', ') || '(none built: run npm run build)'}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, [path.join(dir, `${name}.bench.js`), ...rest], { stdio: 'inherit' });
process.exit(result.status ?? 1);
