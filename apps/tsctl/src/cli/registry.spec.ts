import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultAuthFile, writeAuthFile } from '../commands/registry.command';

describe('tsctl registry login: containers-auth.json', () => {
  it('adds the registry to what the file holds, 0600, with the Tide token as the password', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-authfile-'));
    try {
      const file = path.join(dir, 'sub', 'auth.json');
      writeAuthFile(file, '127.0.0.1:7074', 'tide_a_b');
      fs.writeFileSync(file, JSON.stringify({ auths: { 'other:5000': { auth: 'eDp5' }, '127.0.0.1:7074': { auth: 'old' } }, credHelpers: { x: 'y' } }));
      writeAuthFile(file, '127.0.0.1:7074', 'tide_c_d');
      const written = JSON.parse(fs.readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }>; credHelpers: object };
      assert.deepEqual(Object.keys(written.auths).sort(), ['127.0.0.1:7074', 'other:5000']);
      assert.equal(Buffer.from(written.auths['127.0.0.1:7074'].auth, 'base64').toString(), 'tide:tide_c_d');
      assert.deepEqual(written.credHelpers, { x: 'y' }, 'other settings are kept');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      fs.writeFileSync(file, 'not json');
      assert.throws(() => writeAuthFile(file, 'r:1', 't'), /not a containers-auth.json file/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'not json', 'a file it cannot read is left as it is');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes $REGISTRY_AUTH_FILE, else ~/.config/containers/auth.json', () => {
    assert.equal(defaultAuthFile({ REGISTRY_AUTH_FILE: '/x/auth.json' }, '/home/u'), '/x/auth.json');
    assert.equal(defaultAuthFile({}, '/home/u'), '/home/u/.config/containers/auth.json');
  });
});
