import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { imageReferenceProblem, mergeNodeImages, normalizeImageReference } from './images';

describe('image references', () => {
  it('normalizes a missing tag to latest, and a registry port is not a tag', () => {
    assert.deepEqual(['busybox', 'web:1', 'localhost:5000/app', 'localhost:5000/app:2'].map(normalizeImageReference),
      ['busybox:latest', 'web:1', 'localhost:5000/app:latest', 'localhost:5000/app:2']);
  });

  it('says what is wrong with a reference', () => {
    assert.equal(imageReferenceProblem('ghcr.io/tide/web-app:v1.2'), undefined);
    assert.equal(imageReferenceProblem('a__b/c-d'), undefined);
    assert.match(imageReferenceProblem('Web:1') ?? '', /lowercase/);
    assert.match(imageReferenceProblem('web:') ?? '', /the tag must be/);
    assert.match(imageReferenceProblem('web:bad tag') ?? '', /the tag must be/);
    assert.match(imageReferenceProblem('') ?? '', /required/);
  });

  it('merges node lists into one row per ref and id', () => {
    const image = (ref: string, id: string) => ({ ref, id, layers: [], sizeBytes: 10 });
    assert.deepEqual(mergeNodeImages([
      { node: 'node-2', images: [image('web:1', 'sha256:a'), image('db:1', 'sha256:c')] },
      { node: 'node-1', images: [image('web:1', 'sha256:a'), image('web:1', 'sha256:b')] },
    ]).map((row) => `${row.ref} ${row.id} ${row.nodes.join(',')}`), ['db:1 sha256:c node-2', 'web:1 sha256:a node-1,node-2', 'web:1 sha256:b node-1']);
  });
});
