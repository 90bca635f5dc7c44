import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { detailLine, parseManifests, readManifestFile } from './manifest';

/** Asserts the thrown error's message (not its "Name: message" string) matches. */
function throwsMessage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: Error) => {
    assert.match(error.message, message);
    return true;
  });
}

describe('YAML manifests', () => {
  it('reads several documents and skips empty ones, keeping their numbers in the file', () => {
    const parsed = parseManifests('---\na: 1\n---\n---\nb: 2\n---\n', 'x.yaml');
    assert.deepEqual(parsed.documents, [{ a: 1 }, { b: 2 }]);
    // A leading --- opens document 1; the empty third document is skipped but still counted.
    assert.deepEqual(parsed.numbers, [1, 3]);
  });

  it('reads a tide/v1 mode written as 0400 as octal, as Kubernetes does, and leaves 420, 0o400 and strings alone', () => {
    const parsed = parseManifests('apiVersion: tide/v1\nmodes: [0400, 420, 0o400, "0400", 0, 08]\n', 'x.yaml');
    assert.deepEqual((parsed.documents[0] as { modes: unknown[] }).modes, [0o400, 420, 0o400, '0400', 0, 8]);
  });

  const errors: [string, string, RegExp][] = [
    ['an unclosed flow list', 'a: 1\n---\nb: [oops\n', /^bad\.yaml: document 2: invalid YAML at line \d+: /],
    ['a bad indentation', 'a:\n  b: 1\n c: 2\n', /^bad\.yaml: document 1: invalid YAML/],
    ['a scalar document', 'a: 1\n---\njust text\n', /^bad\.yaml: document 2: expected a mapping .*got "just text"/],
    ['a list document', '- 1\n- 2\n', /^bad\.yaml: document 1: expected a mapping .*got a list/],
    ['no document at all', '---\n# nothing\n', /^bad\.yaml: no documents found$/],
  ];
  for (const [title, text, message] of errors) it(`names file and document for ${title}`, () => throwsMessage(() => parseManifests(text, 'bad.yaml'), message));

  it('refuses a YAML alias bomb with a plain message, and keeps ordinary anchors', () => {
    // Each level refers to the one before nine times: 9^10 nodes if expanded.
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
    let previous = 'a';
    for (let level = 0; level < 10; level++) {
      bomb += `b${level}: &b${level} [${Array(9).fill(`*${previous}`).join(', ')}]\n`;
      previous = `b${level}`;
    }
    throwsMessage(() => parseManifests(`a: 1\n---\n${bomb}`, 'bomb.yaml'),
      /^bomb\.yaml: document 2: refused: its aliases \(\*name\) expand more than 100 times, as a YAML alias bomb does$/);
    const anchored = parseManifests('env: &env { A: "1" }\nother: *env\n', 'ok.yaml');
    assert.deepEqual(anchored.documents, [{ env: { A: '1' }, other: { A: '1' } }]);
  });

  it('maps a server detail (0-based in the sent list) to the document number in the file', () => {
    const parsed = parseManifests('---\n---\na: 1\n---\nb: 2\n', 'svc.yaml');
    assert.equal(detailLine(parsed, { document: 1, path: 'spec.replicas', message: 'must be ≥ 0' }), 'svc.yaml: document 3: spec.replicas: must be ≥ 0');
  });

  it('says clearly when a file cannot be read', () => {
    const missing = path.join(os.tmpdir(), 'no-such-tide-manifest.yaml');
    throwsMessage(() => readManifestFile(missing), /^\/.*no-such-tide-manifest\.yaml: cannot read: no such file$/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-'));
    throwsMessage(() => readManifestFile(dir), /cannot read: is a directory/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
