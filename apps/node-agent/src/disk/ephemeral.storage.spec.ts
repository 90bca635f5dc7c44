import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EphemeralStorageGuard, diskUsage } from './ephemeral.storage';

describe('diskUsage', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-du-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts the blocks of every file once, hard links and subdirectories included', () => {
    const empty = diskUsage(dir);
    fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a/b/big'), Buffer.alloc(1 << 20, 1));
    fs.linkSync(path.join(dir, 'a/b/big'), path.join(dir, 'a/hard'));
    fs.symlinkSync('/etc', path.join(dir, 'a/link'));
    const used = diskUsage(dir) - empty;
    assert.ok(used >= 1 << 20 && used < (1 << 20) + 64 * 1024, `1 MiB once, plus directories: ${used}`);
  });
});

describe('EphemeralStorageGuard', () => {
  it('evicts a container over its limit once, and forgets it when it is gone', () => {
    const usage = new Map([['/c/a', 100], ['/c/b', 5000]]);
    const exceeded: string[] = [];
    let containers = [{ key: 'default/a', dir: '/c/a', limitBytes: 1000 }, { key: 'default/b', dir: '/c/b', limitBytes: 1000 }];
    const guard = new EphemeralStorageGuard({
      containers: () => containers, onExceeded: (key) => exceeded.push(key), log: () => undefined, intervalMs: 1000,
      measure: (dir) => usage.get(dir)!,
    });
    guard.check();
    guard.check();
    assert.deepEqual(exceeded, ['default/b'], 'once, not at every check');
    assert.equal(guard.verdict('default/a'), undefined);
    assert.deepEqual(guard.verdict('default/b'), { reason: 'EphemeralStorageExceeded', message: 'writable layer uses 5000 bytes, over its ephemeral-storage limit of 1000' });
    containers = [containers[0]]; // evicted: a new container starts on a fresh layer later
    guard.check();
    assert.equal(guard.verdict('default/b'), undefined);
  });
});
