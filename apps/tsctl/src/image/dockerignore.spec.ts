import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { isIgnored, parseDockerignore } from './dockerignore';

describe('.dockerignore', () => {
  const rules = parseDockerignore('# comment\n\nnode_modules\n/dist/\n*.log\n!keep.log\n**/secret?.txt\ndocs/**\n!docs/README.md\n[ab].tmp\n');
  const table: [string, boolean][] = [
    ['node_modules', true], ['node_modules/x/index.js', true], ['src/node_modules', false],
    ['dist/app.js', true], ['a.log', true], ['src/a.log', false], ['keep.log', false],
    ['secret1.txt', true], ['deep/down/secret2.txt', true], ['secret10.txt', false],
    ['docs/guide.md', true], ['docs/README.md', false], ['a.tmp', true], ['c.tmp', false], ['src/app.js', false],
  ];
  for (const [file, ignored] of table) it(`${file}: ${ignored ? 'left out' : 'sent'}`, () => assert.equal(isIgnored(rules, file), ignored));
});
