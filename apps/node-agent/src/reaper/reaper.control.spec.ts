import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RestartRequest, askRunningReaper, controlSocketPath, serveRestarts } from './reaper.control';

describe('the reaper\'s control socket', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-reaper-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers a restart request with the new agent, or why there is none', async () => {
    const asked: RestartRequest[] = [];
    let running = false;
    const server = serveRestarts(dir, (request) => {
      asked.push(request);
      if (running) return { error: 'the agent runs (pid 42)' };
      running = true;
      return { pid: 43 };
    });
    try {
      assert.equal(fs.statSync(controlSocketPath(dir)).mode & 0o777, 0o600, 'root only');
      assert.deepEqual(await askRunningReaper(dir, { argv: ['--name', 'n1'], env: { A: '1' } }), { pid: 43 });
      assert.deepEqual(asked, [{ argv: ['--name', 'n1'], env: { A: '1' } }]);
      assert.deepEqual(await askRunningReaper(dir, { argv: [], env: {} }), { error: 'the agent runs (pid 42)' });
    } finally {
      server.close();
    }
  });

  it('makes a state dir that is not there yet (a node the node autoscaler starts), root only', async () => {
    const fresh = path.join(dir, 'nodes', 'burst-1');
    const server = serveRestarts(fresh, () => ({ pid: 7 }));
    try {
      assert.equal(fs.statSync(fresh).mode & 0o777, 0o700);
      assert.deepEqual(await askRunningReaper(fresh, { argv: [], env: {} }), { pid: 7 });
    } finally {
      server.close();
    }
  });

  it('reports a socket it cannot serve instead of ending the reaper', async () => {
    const warned: string[] = [];
    const server = serveRestarts(path.join(dir, 'warned'), () => ({ pid: 1 }), (line) => warned.push(line));
    try {
      server.emit('error', Object.assign(new Error('listen EACCES: permission denied'), { code: 'EACCES' })); // as a failed listen does
      assert.equal(warned.length, 1);
      assert.match(warned[0], /^node-agent-reaper: cannot serve .*reaper\.sock: listen EACCES/);
    } finally {
      server.close();
    }
  });

  it('finds no reaper where none listens, a dead one\'s socket file included', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'none-'));
    assert.equal(await askRunningReaper(empty, { argv: [], env: {} }), undefined);
    const stale = serveRestarts(empty, () => ({ pid: 1 }));
    await new Promise((resolve) => stale.close(resolve));
    fs.writeFileSync(controlSocketPath(empty), ''); // a file left behind, nobody listening
    assert.equal(await askRunningReaper(empty, { argv: [], env: {} }), undefined);
  });

  it('asks again a reaper that closed the request unanswered (it was exiting): its successor answers, or none is found', async () => {
    const exiting = fs.mkdtempSync(path.join(dir, 'exiting-'));
    const file = controlSocketPath(exiting);
    // A reaper in its last moment: it takes the connection and closes it without an answer, then goes.
    const dying = net.createServer((socket) => {
      socket.destroy(); // as its exit closes it
      dying.close(() => fs.rmSync(file, { force: true }));
    });
    await new Promise<void>((resolve) => dying.listen(file, resolve));
    assert.equal(await askRunningReaper(exiting, { argv: [], env: {} }), undefined, 'gone: the start runs a reaper of its own');

    let closes = 2;
    const flaky = net.createServer((socket) => {
      if (closes-- > 0) return socket.destroy();
      socket.once('data', () => socket.end(`${JSON.stringify({ pid: 44 })}\n`));
    });
    await new Promise<void>((resolve) => flaky.listen(file, resolve));
    try {
      assert.deepEqual(await askRunningReaper(exiting, { argv: [], env: {} }), { pid: 44 });
    } finally {
      await new Promise((resolve) => flaky.close(resolve));
    }
    const mute = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => mute.listen(file, resolve));
    try {
      await assert.rejects(askRunningReaper(exiting, { argv: [], env: {} }, 300), /gave no answer|closed the connection/);
    } finally {
      await new Promise((resolve) => mute.close(resolve));
    }
  });
});
