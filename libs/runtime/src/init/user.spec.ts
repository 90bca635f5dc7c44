/** User specs against an image's /etc/passwd and /etc/group (a temporary directory here). */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserLookupError, resolveUser, withHome } from './user';

describe('resolveUser', () => {
  let etc: string;

  before(() => {
    etc = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-etc-'));
    fs.writeFileSync(path.join(etc, 'passwd'), [
      '# comment', 'root:x:0:0:root:/root:/bin/sh', 'app:x:1000:1001:App:/home/app:/bin/sh', 'nohome:x:1002:1002::', 'broken:x:abc:1',
    ].join('\n'));
    fs.writeFileSync(path.join(etc, 'group'), ['root:x:0:', 'app:x:1001:', 'staff:x:50:app,other', 'audio:x:63:other,app', 'wheel:x:10:root'].join('\n'));
  });

  after(() => fs.rmSync(etc, { recursive: true, force: true }));

  it('defaults to root, with the groups that list root', () => {
    assert.deepEqual(resolveUser(undefined, etc), { uid: 0, gid: 0, groups: [10], home: '/root' });
    assert.deepEqual(resolveUser('', etc), resolveUser('root', etc));
  });

  it('takes a name: its uid, primary gid, supplementary groups by membership and home', () => {
    assert.deepEqual(resolveUser('app', etc), { uid: 1000, gid: 1001, groups: [50, 63], home: '/home/app' });
    assert.deepEqual(resolveUser('nohome', etc), { uid: 1002, gid: 1002, groups: [], home: '/' });
  });

  it('takes a uid with or without a passwd entry', () => {
    assert.deepEqual(resolveUser('1000', etc), resolveUser('app', etc));
    assert.deepEqual(resolveUser('4242', etc), { uid: 4242, gid: 0, groups: [], home: '/' });
  });

  it('takes an explicit group by name or number, which replaces the supplementary groups', () => {
    assert.deepEqual(resolveUser('app:staff', etc), { uid: 1000, gid: 50, groups: [], home: '/home/app' });
    assert.deepEqual(resolveUser('4242:77', etc), { uid: 4242, gid: 77, groups: [], home: '/' });
  });

  it('names what it cannot find, and where', () => {
    const refused = (spec: string, message: RegExp) =>
      assert.throws(() => resolveUser(spec, etc), (e: unknown) => e instanceof UserLookupError && message.test(e.message));
    refused('ghost', new RegExp(`user "ghost" not found in the image's ${etc}/passwd`));
    refused('app:ghosts', new RegExp(`group "ghosts" not found in the image's ${etc}/group`));
    refused('broken', /user "broken" not found/);
    refused('a:b:c', /must be "uid", "uid:gid", "name" or "name:group"/);
    refused('4294967295', /out of range/);
  });

  it('treats a missing /etc/passwd as empty: numeric ids still work, names do not', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-etc-'));
    try {
      assert.deepEqual(resolveUser('0', empty), { uid: 0, gid: 0, groups: [], home: '/' });
      assert.throws(() => resolveUser('root', empty), UserLookupError);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('adds HOME unless the environment has one', () => {
    const user = resolveUser('app', etc);
    assert.deepEqual(withHome(['PATH=/bin'], user), ['PATH=/bin', 'HOME=/home/app']);
    assert.deepEqual(withHome(['HOME=/data'], user), ['HOME=/data']);
  });
});
