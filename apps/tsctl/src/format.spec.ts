import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { age, table } from './format';
import { parseArgs } from './args';
import { parseManifests } from './manifest';

describe('tsctl formatting and parsing', () => {
  it('aligns table columns', () => {
    assert.equal(table(['NAME', 'READY'], [['hello', '2/2'], ['a', '0/1']]), 'NAME    READY\nhello   2/2\na       0/1');
  });
  it('prints ages like kubectl', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    assert.equal(age('2026-01-01T00:59:30Z', now), '30s');
    assert.equal(age('2026-01-01T00:30:00Z', now), '30m');
  });
  it('parses flags, short options and stdin', () => {
    const parsed = parseArgs(['apply', '-f', '-', '--server=http://x:1', '-o', 'json']);
    assert.deepEqual(parsed.positionals, ['apply']);
    assert.equal(parsed.flags.get('filename'), '-');
    assert.equal(parsed.flags.get('server'), 'http://x:1');
    assert.equal(parsed.flags.get('output'), 'json');
  });
  it('reads several YAML documents and skips empty ones', () => {
    const { documents, numbers } = parseManifests('a: 1\n---\nb: 2\n---\n', 'x.yaml');
    assert.deepEqual(documents, [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(numbers, [1, 2]);
  });
  it('names the file and document of invalid YAML', () => {
    assert.throws(() => parseManifests('a: 1\n---\nb: [oops\n', 'bad.yaml'), /^Error: bad\.yaml: document 2: invalid YAML/);
  });
});
