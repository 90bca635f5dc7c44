/** The image verbs' translation: references, filters, and the JSON message streams the docker CLI prints from. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildArgsOf } from './docker.build';
import { DockerError } from './docker.errors';
import { IMAGE_FILTERS, imagePasses, parseFilters } from './docker.filters';
import { inspectEntry } from './docker.images';
import { buildEndMessages, buildFailureMessage, buildLogMessage, jsonLines, pullMessages, pushMessages } from './docker.progress';
import { familiarString, idPrefixOf, parseDockerRef, storeRef } from './docker.refs';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const D = `sha256:${'d'.repeat(64)}`;

describe('references', () => {
  it('reads the familiar forms the CLI sends, a registry only when the first part has "." or ":" or is localhost', () => {
    assert.deepEqual(parseDockerRef('busybox'), { repository: 'busybox' });
    assert.deepEqual(parseDockerRef('docker.io/library/busybox:1.36'), { repository: 'busybox', tag: '1.36' });
    assert.deepEqual(parseDockerRef('team/app:2'), { repository: 'team/app', tag: '2' });
    assert.deepEqual(parseDockerRef('127.0.0.1:5000/team/app'), { registry: '127.0.0.1:5000', repository: 'team/app' });
    assert.deepEqual(parseDockerRef(`localhost/app@${D}`), { registry: 'localhost', repository: 'app', digest: D });
    assert.throws(() => parseDockerRef('App'), (e: unknown) => e instanceof DockerError && e.status === 400 && /invalid reference format: repository name must be lowercase/.test(e.message));
    assert.throws(() => parseDockerRef('app@sha256:12'), (e: unknown) => e instanceof DockerError && /a digest is sha256: and 64 hex digits/.test(e.message));
  });

  it('keeps the cluster registry\'s images under their short names, another registry\'s with its host', () => {
    const cluster = '127.0.0.1:24005';
    assert.equal(storeRef(parseDockerRef('127.0.0.1:24005/team/app:2'), cluster), 'team/app:2');
    assert.equal(storeRef(parseDockerRef('team/app'), cluster), 'team/app:latest');
    assert.equal(storeRef(parseDockerRef('reg.example:5000/app:1'), cluster), 'reg.example:5000/app:1');
    assert.equal(storeRef(parseDockerRef(`app@${D}`), cluster), `app:sha256-${'d'.repeat(64)}`);
    assert.equal(familiarString(parseDockerRef('127.0.0.1:24005/app')), '127.0.0.1:24005/app:latest');
  });

  it('takes an image ID or a prefix of four digits or more where a name goes', () => {
    assert.equal(idPrefixOf('sha256:abcd12'), 'abcd12');
    assert.equal(idPrefixOf('abcd'), 'abcd');
    assert.equal(idPrefixOf('abc'), undefined);
    assert.equal(idPrefixOf('web'), undefined);
  });
});

describe('image filters', () => {
  it('matches docker images NAME by name or name:tag, with globs within a path component', () => {
    const filters = (json: unknown) => parseFilters(JSON.stringify(json), IMAGE_FILTERS, 'images');
    assert.ok(imagePasses(['app:1'], filters({ reference: { app: true } })));
    assert.ok(imagePasses(['team/app:1'], filters({ reference: ['team/*:1'] })));
    assert.ok(!imagePasses(['team/app:1'], filters({ reference: ['*:1'] })));
    assert.ok(!imagePasses(['app:1'], filters({ dangling: ['true'] })));
    assert.throws(() => filters({ label: ['a'] }), /invalid filter 'label': Tide's Docker API filters images by reference, dangling/);
  });
});

describe('the JSON message streams', () => {
  it('pull: a line per layer, fetched or already there, then the digest and what came of it', () => {
    const messages = pullMessages({
      tagOrDigest: '1', repository: 'team/app', digest: D, name: '127.0.0.1:5000/team/app:1', upToDate: false,
      layers: [{ digest: A, moved: false }, { digest: B, moved: true }],
    });
    assert.equal(jsonLines(messages), [
      '{"status":"Pulling from team/app","id":"1"}',
      '{"status":"Already exists","progressDetail":{},"id":"aaaaaaaaaaaa"}',
      '{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}',
      '{"status":"Pull complete","progressDetail":{},"id":"bbbbbbbbbbbb"}',
      `{"status":"Digest: ${D}"}`,
      '{"status":"Status: Downloaded newer image for 127.0.0.1:5000/team/app:1"}',
      '',
    ].join('\n'));
    const again = pullMessages({ tagOrDigest: '1', repository: 'app', digest: D, name: 'app:1', upToDate: true, layers: [{ digest: A, moved: false }] });
    assert.deepEqual(again.map((m) => ('status' in m ? m.status : '')), ['Pulling from app', `Digest: ${D}`, 'Status: Image is up to date for app:1']);
  });

  it('push: the repository, each layer topmost first, the digest line and the aux the CLI reads', () => {
    const messages = pushMessages({ repository: '127.0.0.1:5000/app', tag: '1', digest: D, size: 527, layers: [{ digest: A, moved: false }, { digest: B, moved: true }] });
    assert.deepEqual(messages, [
      { status: 'The push refers to repository [127.0.0.1:5000/app]' },
      { status: 'Preparing', progressDetail: {}, id: 'bbbbbbbbbbbb' },
      { status: 'Preparing', progressDetail: {}, id: 'aaaaaaaaaaaa' },
      { status: 'Pushed', progressDetail: {}, id: 'bbbbbbbbbbbb' },
      { status: 'Layer already exists', progressDetail: {}, id: 'aaaaaaaaaaaa' },
      { status: `1: digest: ${D} size: 527` },
      { progressDetail: {}, aux: { Tag: '1', Digest: D, Size: 527 } },
    ]);
  });

  it('build: the log as stream text, Tide\'s own last line said in Docker\'s words, the ID as aux', () => {
    assert.deepEqual(buildLogMessage('Step 1/2 : FROM busybox'), { stream: 'Step 1/2 : FROM busybox\n' });
    assert.equal(buildLogMessage('Successfully built bbbbbbbbbbbb as app:latest'), undefined);
    assert.deepEqual(buildEndMessages(B, ['app:latest', 'app:2'], false), [
      { aux: { ID: B } }, { stream: 'Successfully built bbbbbbbbbbbb\n' }, { stream: 'Successfully tagged app:latest\n' }, { stream: 'Successfully tagged app:2\n' },
    ]);
    assert.deepEqual(buildEndMessages(B, ['app:latest'], true), [{ aux: { ID: B } }, { stream: `${B}\n` }]);
  });

  it('build: a failed RUN step makes the CLI exit with the step\'s code, anything else with 1', () => {
    assert.deepEqual(buildFailureMessage('Dockerfile line 2: RUN exit 3: the command exited with code 3'), {
      errorDetail: { code: 3, message: 'Dockerfile line 2: RUN exit 3: the command exited with code 3' }, error: 'Dockerfile line 2: RUN exit 3: the command exited with code 3',
    });
    assert.deepEqual(buildFailureMessage('no Dockerfile'), { errorDetail: { code: 1, message: 'no Dockerfile' }, error: 'no Dockerfile' });
  });

  it('build arguments: NAME=VALUE each, one without a value left out', () => {
    assert.deepEqual(buildArgsOf('{"A":"1","B":null,"C":"x=y"}'), ['A=1', 'C=x=y']);
    assert.deepEqual(buildArgsOf(null), []);
    assert.throws(() => buildArgsOf('[1]'), /buildargs: a JSON object/);
  });
});

describe('image inspect', () => {
  it('gives dockerd\'s shape with the image\'s own config and layers', () => {
    const entry = inspectEntry({
      ref: 'app:1', id: B, created: '2026-01-01T00:00:00Z', sizeBytes: 42, layers: [A],
      config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Env: ['PATH=/bin'] }, history: [{ comment: 'committed from busybox:latest' }] },
    }, ['app:1', 'app:latest']);
    assert.deepEqual([entry.Id, entry.RepoTags, entry.Created, entry.Size, entry.Architecture, entry.Comment], [B, ['app:1', 'app:latest'], '2026-01-01T00:00:00Z', 42, 'amd64', 'committed from busybox:latest']);
    assert.deepEqual((entry.Config as Record<string, unknown>).Cmd, ['sh']);
    assert.equal((entry.Config as Record<string, unknown>).Entrypoint, null);
    assert.deepEqual(entry.RootFS, { Type: 'layers', Layers: [A] });
  });
});
