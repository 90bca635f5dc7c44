/** tsctl cp's rules for where a copy lands (docker cp's), and the Docker stat header's shape. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { CopyRefused, planCopy, renameTop, topEntryOf } from './copy.plan';
import { sideOf } from '../commands/cp.command';
import { dockerPathStat, goFileMode } from '../docker/docker.archive';

const dir = (path: string) => ({ path, exists: true, isDirectory: true });
const file = (path: string) => ({ path, exists: true, isDirectory: false });
const missing = (path: string) => ({ path, exists: false, isDirectory: false });

describe('planCopy', () => {
  const cases: Array<[string, { path: string; isDirectory: boolean }, ReturnType<typeof dir>, { directory: string; topName: string }]> = [
    ['a file into a directory keeps its name', { path: '/etc/hosts', isDirectory: false }, dir('/tmp'), { directory: '/tmp', topName: 'hosts' }],
    ['a file onto a file takes its name', { path: 'notes.txt', isDirectory: false }, file('/srv/readme'), { directory: '/srv', topName: 'readme' }],
    ['a file to a new name', { path: 'notes.txt', isDirectory: false }, missing('/srv/new.txt'), { directory: '/srv', topName: 'new.txt' }],
    ['a directory into a directory keeps its name', { path: '/var/www', isDirectory: true }, dir('out'), { directory: 'out', topName: 'www' }],
    ['a directory\'s contents into a directory', { path: '/var/www/.', isDirectory: true }, dir('out'), { directory: 'out', topName: '.' }],
    ['a directory to a new name (trailing slash too)', { path: '/var/www', isDirectory: true }, missing('/tmp/site/'), { directory: '/tmp', topName: 'site' }],
  ];
  for (const [name, source, destination, expected] of cases) it(name, () => assert.deepEqual(planCopy(source, destination), expected));

  it('refuses a directory onto a file, and a file into a directory that does not exist', () => {
    assert.throws(() => planCopy({ path: 'd', isDirectory: true }, file('/etc/hosts')), CopyRefused);
    assert.throws(() => planCopy({ path: 'f', isDirectory: false }, missing('/nowhere/')), /destination directory \/nowhere\/ does not exist/);
  });
});

describe('renameTop', () => {
  it('renames the top entry and what is below it', () => {
    const rename = renameTop('www', 'site');
    assert.deepEqual(['www/', 'www/index.html', 'www/css/a.css'].map(rename), ['site/', 'site/index.html', 'site/css/a.css']);
  });
  it('puts the contents of "." under the new name', () => {
    assert.deepEqual(['./', 'a', 'sub/b'].map(renameTop('.', 'out')), ['out/', 'out/a', 'out/sub/b']);
  });
  it('names the archive\'s top entry as the agent does', () => {
    assert.deepEqual(['/etc/hosts', '/var/www/', '/var/www/.', '/'].map(topEntryOf), ['hosts', 'www', '.', '.']);
  });
});

describe('cp arguments', () => {
  it('tells a replica\'s path from a local one', () => {
    assert.deepEqual(sideOf('web-1:/etc/hosts'), { replica: 'web-1', path: '/etc/hosts' });
    assert.deepEqual(sideOf('web-1:'), { replica: 'web-1', path: '/' });
    assert.deepEqual(sideOf('./a:b'), { path: './a:b' });
    assert.deepEqual(sideOf('-'), { path: '-' });
  });
});

describe('Docker path stat', () => {
  it('gives Go FileMode bits, not st_mode', () => {
    assert.equal(goFileMode(0o040755), 2 ** 31 + 0o755); // os.ModeDir | 0755
    assert.equal(goFileMode(0o120777), 2 ** 27 + 0o777); // os.ModeSymlink | 0777
    assert.equal(goFileMode(0o100644), 0o644);
    assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755); // setuid
  });
  it('is base64 of the JSON dockerd sends', () => {
    const header = dockerPathStat({ name: 'www', size: 4096, mode: 0o040755, mtime: '2024-05-01T10:00:00.000Z', linkTarget: '' });
    assert.deepEqual(JSON.parse(Buffer.from(header, 'base64').toString()), { name: 'www', size: 4096, mode: 2147484141, mtime: '2024-05-01T10:00:00.000Z', linkTarget: '' });
  });
});
