/**
 * The bundle budget (issue 20): at most 250 kB of gzip-compressed JavaScript, the bundle that
 * `npm run build` leaves in apps/dashboard/bundle (build.mjs), and an index.html naming files that exist.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUNDLE = path.resolve(__dirname, '..', 'bundle');
const BUDGET_BYTES = 250_000;

describe('dashboard bundle', () => {
  it(`holds at most ${BUDGET_BYTES / 1000} kB of compressed JavaScript`, () => {
    assert.ok(fs.existsSync(path.join(BUNDLE, 'index.html')), `${BUNDLE}/index.html is missing: run "npm run build"`);
    const scripts = fs.readdirSync(path.join(BUNDLE, 'assets')).filter((file) => file.endsWith('.js'));
    assert.ok(scripts.length > 0, 'the bundle has no JavaScript');
    const compressed = scripts.reduce((sum, file) => sum + gzipSync(fs.readFileSync(path.join(BUNDLE, 'assets', file)), { level: 9 }).length, 0);
    assert.ok(compressed <= BUDGET_BYTES, `${scripts.join(', ')}: ${compressed} bytes compressed, over the ${BUDGET_BYTES}-byte budget`);
  });

  it('index.html names only files the bundle has', () => {
    const page = fs.readFileSync(path.join(BUNDLE, 'index.html'), 'utf8');
    const named = [...page.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)].map((match) => match[1]);
    assert.ok(named.length >= 2, `index.html names ${named.length} files: expected the script and the stylesheet`);
    for (const file of named) assert.ok(fs.existsSync(path.join(BUNDLE, file)), `index.html names /ui/${file}, which the bundle lacks`);
  });
});
