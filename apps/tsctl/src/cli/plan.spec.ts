/**
 * tsctl diff, apply --dry-run / --prune, rollout restart, version and completion as a user runs
 * them, against a stand-in API that records what it was sent; completion in a real bash.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { TIDE_VERSION } from '@tide/api';
import { tsctl, useStandInApi } from '../testing/run.tsctl';
import { applyArguments, changedPathsNote } from '../commands/apply.command';
import { diffLines } from '../commands/diff.command';
import { parseSelector, prunable, serviceKeys } from '../commands/apply.prune';

const FILE = (image: string) => `apiVersion: tide/v1
kind: Service
metadata: { name: web, labels: { app: shop } }
spec: { replicas: 1, image: ${image} }
`;

const stored = (name: string, labels?: Record<string, string>) => ({ metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) } });

/** web:2 differs from what is "stored"; a document named broken answers a 400 with its field; old is prunable. */
function standInApi(requests: string[]): http.Server {
  return http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url} ${body}`.trim());
      res.setHeader('content-type', 'application/json');
      const documents = (body ? JSON.parse(body).documents : []) as { metadata: { name: string }; spec: { image: string } }[] | undefined;
      if (documents?.some((d) => d.metadata.name === 'broken')) {
        res.statusCode = 400;
        return res.end(JSON.stringify({ error: '1 invalid field(s); nothing was compared', details: [{ document: 0, path: 'spec.replicas', message: 'must be an integer between 0 and 10000' }] }));
      }
      if (req.url === '/api/v1/diff') {
        const changed = documents![0].spec.image !== 'web:1';
        return res.end(JSON.stringify({
          changed, results: [{ kind: 'Service', namespace: 'default', name: 'web', action: changed ? 'changed' : 'unchanged', ...(changed ? { diff: '--- a\n+++ b\n@@ -1 +1 @@\n-  image: web:1\n+  image: web:2' } : {}) }],
        }));
      }
      if (req.url === '/api/v1/apply') return res.end(JSON.stringify({ results: [{ kind: 'Service', namespace: 'default', name: 'web', action: 'configured' }] }));
      if (req.url?.startsWith('/api/v1/services?')) return res.end(JSON.stringify({ items: [stored('web', { app: 'shop' }), stored('old', { app: 'shop' }), stored('db', { app: 'data' }), stored('bare')] }));
      if (req.method === 'DELETE') return res.end(JSON.stringify({ deleted: 'service/old' }));
      if (req.url?.startsWith('/api/v1/services/web/restart')) return res.end(JSON.stringify({ service: 'web', restartedAt: '2026-12-03T09:00:00.000Z' }));
      if (req.url === '/api/v1/version') return res.end(JSON.stringify({ version: '9.9.9' }));
      res.statusCode = req.url === '/api/v1/boom' ? 500 : 404;
      res.end(JSON.stringify({ error: 'not here' }));
    });
  });
}

describe('tsctl diff, dry run, prune, restart, version', () => {
  const requests: string[] = [];
  const api = useStandInApi(standInApi(requests), 'tsctl-plan-');
  const file = (name: string, text: string) => {
    const at = path.join(api.dir, name);
    fs.writeFileSync(at, text);
    return at;
  };

  it('diff exits 0 with no difference, 1 printing the difference, 2 on error naming the file', async () => {
    const same = await tsctl(['--server', api.url(), 'diff', '-f', file('same.yaml', FILE('web:1'))]);
    assert.deepEqual([same.code, same.stdout], [0, ''], same.stderr);
    const edited = await tsctl(['--server', api.url(), 'diff', '-f', file('edited.yaml', FILE('web:2'))]);
    assert.equal(edited.code, 1, edited.stderr);
    assert.equal(edited.stdout, '# service/web (namespace default) changed\n--- a\n+++ b\n@@ -1 +1 @@\n-  image: web:1\n+  image: web:2\n');
    const bad = await tsctl(['--server', api.url(), 'diff', '-f', file('bad.yaml', FILE('web:1').replace('name: web', 'name: broken'))]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.yaml: document 1: spec\.replicas: must be an integer between 0 and 10000\nerror: nothing was compared/);
    const missing = await tsctl(['--server', api.url(), 'diff', '-f', path.join(api.dir, 'absent.yaml')]);
    assert.deepEqual([missing.code, missing.stderr], [2, `error: ${path.join(api.dir, 'absent.yaml')}: cannot read: no such file\n`]);
    const unreachable = await tsctl(['--server', 'http://127.0.0.1:9', 'diff', '-f', file('same.yaml', FILE('web:1'))]);
    assert.equal(unreachable.code, 2, unreachable.stderr);
    assert.equal((await tsctl(['diff'])).code, 2);
  });

  it('heads a changed ConfigMap\'s or Secret\'s diff with the paths that would change', () => {
    const secret = { kind: 'Secret', namespace: 'shop', name: 'db', action: 'changed' as const, changedPaths: ['data.password', 'data.token'], diff: '-  password: (redacted)\n+  password: (changed, redacted)' };
    assert.deepEqual(diffLines([secret, { ...secret, kind: 'ConfigMap', action: 'unchanged', diff: undefined }]), [
      '# secret/db (namespace shop) changed: data.password, data.token\n-  password: (redacted)\n+  password: (changed, redacted)',
    ]);
    assert.equal(changedPathsNote(undefined), '');
    assert.equal(changedPathsNote([]), '');
  });

  it('apply --dry-run=server asks the API for a dry run and says so; --prune -l deletes only the labelled objects missing from the file', async () => {
    requests.length = 0;
    const dry = await tsctl(['--server', api.url(), 'apply', '-f', file('web.yaml', FILE('web:2')), '--dry-run=server', '--prune', '-l', 'app=shop']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'service/web configured (server dry run)\nservice/old pruned (server dry run)\n');
    assert.ok(requests.some((r) => r.startsWith('POST /api/v1/apply ') && JSON.parse(r.slice('POST /api/v1/apply '.length)).dryRun === true), requests.join('\n'));
    assert.ok(!requests.some((r) => r.startsWith('DELETE')), 'a dry run deletes nothing');
    const real = await tsctl(['--server', api.url(), 'apply', '-f', file('web.yaml', FILE('web:2')), '--prune', '-l', 'app=shop']);
    assert.equal(real.stdout, 'service/web configured\nservice/old pruned\n');
    assert.deepEqual(requests.filter((r) => r.startsWith('DELETE')), ['DELETE /api/v1/services/old?namespace=default']);
  });

  it('rollout restart posts the restart and prints when', async () => {
    const run = await tsctl(['--server', api.url(), 'rollout', 'restart', 'service', 'web']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^service\/web restarted \(tide\/restartedAt: 2026-12-03T09:00:00.000Z;/);
    assert.equal((await tsctl(['--server', api.url(), 'rollout', 'restart', 'service', 'nope'])).code, 1);
  });

  it('version prints the client\'s (the workspace\'s release) and the server\'s', async () => {
    const root = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../../package.json'), 'utf8')) as { version: string };
    assert.equal(TIDE_VERSION, root.version);
    const run = await tsctl(['--server', api.url(), 'version']);
    assert.equal(run.stdout, `Client Version: ${TIDE_VERSION}\nServer Version: 9.9.9 (${api.url()})\n`);
    assert.deepEqual([(await tsctl(['version', '--client'])).stdout], [`Client Version: ${TIDE_VERSION}\n`]);
  });
});

describe('apply options', () => {
  const ctx = (args: string[], options: Record<string, string>) => ({ args, options: new Map(Object.entries(options)) });

  it('refuses --prune without -l, -l without --prune, and a client dry run', () => {
    assert.throws(() => applyArguments(ctx([], { filename: 'f', prune: 'true' })), /--prune needs -l KEY=VALUE/);
    assert.throws(() => applyArguments(ctx([], { filename: 'f', selector: 'a=b' })), /-l selects what --prune deletes: give --prune with it/);
    assert.throws(() => applyArguments(ctx([], { filename: 'f', 'dry-run': 'client' })), /--dry-run: only "server" is supported.*got "client"/);
    assert.deepEqual(applyArguments(ctx([], { filename: 'f', 'dry-run': 'server', prune: 'true', selector: 'app=web,tier=front' })),
      { file: 'f', dryRun: true, selector: { app: 'web', tier: 'front' } });
  });

  it('reads equality selectors and refuses anything else', () => {
    assert.deepEqual(parseSelector('app=web'), { app: 'web' });
    assert.throws(() => parseSelector('app!=web'), /-l: expected KEY=VALUE\[,KEY=VALUE\.\.\.\] \(equality only\), got "app!=web"/);
    assert.throws(() => parseSelector('app'), /got "app"/);
  });

  it('prunes what carries every label of the selector and is not in the files', () => {
    const keep = serviceKeys([{ kind: 'Service', metadata: { name: 'web' } }, { kind: 'Service', metadata: { name: 'api', namespace: 'shop' } }]);
    assert.deepEqual([...keep], ['default/web', 'shop/api']);
    const items = [stored('web', { app: 'shop' }), stored('old', { app: 'shop', tier: 'x' }), stored('db', { app: 'data' }), stored('bare')];
    assert.deepEqual(prunable(items, { app: 'shop' }, keep), [{ namespace: 'default', name: 'old' }]);
    assert.deepEqual(prunable(items, { app: 'shop', tier: 'y' }, keep), []);
  });
});

describe('tsctl completion', () => {
  /** What bash completes for the words typed so far (the last one being completed). */
  const complete = (shellScript: string, words: string[]) => spawnSync('bash', ['-c', `${shellScript}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _tsctl; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.trim().split('\n');

  it('completes commands, kinds, subcommands and flags in bash', async () => {
    const script = (await tsctl(['completion', 'bash'])).stdout;
    assert.deepEqual(complete(script, ['tsctl', 'di']), ['diff']);
    assert.deepEqual(complete(script, ['tsctl', '--server', 'https://x', 'ro']), ['rollout']);
    assert.deepEqual(complete(script, ['tsctl', 'get', 're']), ['replicas']);
    assert.deepEqual(complete(script, ['tsctl', 'rollout', 're']), ['restart']);
    assert.deepEqual(complete(script, ['tsctl', 'rollout', 'restart', 's']), ['service']);
    assert.deepEqual(complete(script, ['tsctl', 'apply', '--dr']), ['--dry-run']);
    assert.deepEqual(complete(script, ['tsctl', 'apply', '--pr']), ['--prune']);
    assert.deepEqual(complete(script, ['tsctl', 'completion', '']), ['bash', 'zsh']);
  });

  it('gives zsh the same function through bashcompinit, and refuses another shell', async () => {
    const zsh = await tsctl(['completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef tsctl\nautoload -U \+X bashcompinit && bashcompinit\n/);
    assert.equal(spawnSync('bash', ['-n'], { input: zsh.stdout.split('\n').slice(2).join('\n') }).status, 0);
    const fish = await tsctl(['completion', 'fish']);
    assert.deepEqual([fish.code, fish.stderr.split('\n')[0]], [2, 'error: completion needs bash or zsh, got "fish"']);
  });
});
