/** `tsctl image ...` as a user runs it, against a stand-in image API; build contexts are checked with GNU tar. */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_HOME, tsctl } from '../testing/run.tsctl';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsctl-images-'));
const IMAGE = (ref: string, id: string, nodes: string[]) => ({ ref, id: `sha256:${id.padEnd(64, '0')}`, sizeBytes: 4_260_000, nodes });

/** What the stand-in received: every request line, and the files of the last build context (per `tar -t`). */
const seen = { requests: [] as string[], context: [] as string[], dockerfile: '', registry: false, pushed: undefined as { ref: string; node?: string } | undefined };

function respond(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
  const json = (status: number, value: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const url = new URL(req.url ?? '/', 'http://api');
  seen.requests.push(`${req.method} ${url.pathname}${url.search}`);
  if (req.method === 'POST' && url.pathname === '/api/v1/images/import') {
    const refs = body.toString().split('\n').filter(Boolean);
    return json(200, { results: [
      { node: 'node-1', ok: true, value: refs.map((ref) => ({ ref, id: `sha256:${'ab'.repeat(32)}` })) },
      refs.includes('fail-on-node-2') ? { node: 'node-2', ok: false, error: 'node node-2 unreachable: ECONNREFUSED' } : { node: 'node-2', ok: true, value: [] },
    ] });
  }
  if (req.method === 'GET' && url.pathname === '/api/v1/images') {
    return json(200, { items: [IMAGE('busybox:latest', 'c0ffee', ['node-1', 'node-2']), IMAGE('registry.local:5000/web', '1234', ['node-2'])], errors: [{ node: 'node-3', ok: false, error: 'node node-3 did not answer within 5 s' }] });
  }
  if (req.method === 'DELETE' && url.pathname === `/api/v1/images/${encodeURIComponent('web:1')}`) {
    return json(409, { error: 'image "web:1" is in use by service default/web: delete or change it first', details: [] });
  }
  if (req.method === 'DELETE') return json(200, { results: [{ node: 'node-1', ok: true, value: 'deleted' }, { node: 'node-2', ok: true, value: 'absent' }] });
  if (req.method === 'POST' && url.pathname === '/api/v1/images/build') return build(url, body, res);
  if (req.method === 'GET' && url.pathname === '/api/v1/registry' && seen.registry) return json(200, { address: '127.0.0.1:7074', embedded: true });
  if (req.method === 'POST' && url.pathname === '/api/v1/images/push') {
    seen.pushed = JSON.parse(body.toString()) as { ref: string; node?: string };
    return json(200, { node: seen.pushed.node ?? 'node-1', repository: '127.0.0.1:7074/web', tag: '5', digest: `sha256:${'d1'.repeat(32)}`, uploadedBlobs: 1, blobs: 3 });
  }
  json(404, { error: 'not found' });
}

function build(url: URL, body: Buffer, res: http.ServerResponse): void {
  const archive = path.join(dir, 'received.tar');
  fs.writeFileSync(archive, body);
  seen.context = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  seen.dockerfile = execFileSync('tar', ['-xOf', archive, url.searchParams.get('dockerfile') ?? 'Dockerfile'], { encoding: 'utf8' });
  const fails = seen.dockerfile.includes('RUN false');
  const lines = [
    { log: 'Step 1/2 : FROM busybox' }, { log: `Step 2/2 : ${fails ? 'RUN false' : 'COPY . /app'}` },
    { result: fails ? { ok: false, error: 'step 2/2 "RUN false": exit code 1', node: 'node-1' }
      : { ok: true, node: 'node-1', image: { ref: url.searchParams.get('tag'), id: `sha256:${'fe'.repeat(32)}` }, distributed: [{ node: 'node-2', ok: true }] } },
  ];
  res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(lines.map((l) => JSON.stringify(l)).join('\n'));
}

describe('tsctl image', () => {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => respond(req, Buffer.concat(chunks), res));
  });
  let url: string;
  const run = (...args: string[]) => tsctl(['--server', url, 'image', ...args]);

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(TEST_HOME, { recursive: true, force: true });
  });

  it('import streams the file and prints what each node imported', async () => {
    const file = path.join(dir, 'images.tar');
    fs.writeFileSync(file, 'web:1\nweb:2\n');
    const ok = await run('import', file);
    assert.deepEqual([ok.code, ok.stdout], [0, 'node-1: imported web:1 (abababababab), web:2 (abababababab)\nnode-2: imported no images\n']);
    fs.writeFileSync(file, 'web:1\nfail-on-node-2\n');
    const failed = await run('import', file);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /node-2: failed: node node-2 unreachable: ECONNREFUSED\nerror: could not import images\.tar on node-2\n$/);
    const missing = await run('import', path.join(dir, 'nope.tar'));
    assert.deepEqual([missing.code, missing.stderr], [2, `error: ${path.join(dir, 'nope.tar')}: no such file\n`]);
  });

  it('ls prints REPOSITORY TAG IMAGE ID SIZE NODES, warns about nodes that did not answer, and does -o json', async () => {
    const table = await run('ls');
    assert.equal(table.code, 0);
    assert.equal(table.stdout, [
      'REPOSITORY                TAG      IMAGE ID       SIZE     NODES',
      'busybox                   latest   c0ffee000000   4.26MB   node-1,node-2',
      'registry.local:5000/web   latest   123400000000   4.26MB   node-2',
      '',
    ].join('\n'));
    assert.equal(table.stderr, 'warning: node-3: node node-3 did not answer within 5 s\n');
    const json = await run('ls', '-o', 'json');
    assert.deepEqual((JSON.parse(json.stdout) as { items: { ref: string }[] }).items.map((i) => i.ref), ['busybox:latest', 'registry.local:5000/web']);
  });

  it('rm prints per node, and says which service keeps an image in use', async () => {
    const ok = await run('rm', 'old:1');
    assert.deepEqual([ok.code, ok.stdout], [0, 'node-1: removed old:1\nnode-2: did not have old:1\n']);
    const inUse = await run('rm', 'web:1');
    assert.deepEqual([inUse.code, inUse.stderr], [1, 'error: image "web:1" is in use by service default/web: delete or change it first\n']);
  });

  it('build sends the context minus .dockerignore (Dockerfile always), streams the log and names the result', async () => {
    const context = path.join(dir, 'app');
    const deep = `${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(90)}.js`;
    fs.mkdirSync(path.join(context, 'node_modules/x'), { recursive: true });
    fs.mkdirSync(path.join(context, 'src', path.dirname(deep)), { recursive: true });
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY . /app\n');
    fs.writeFileSync(path.join(context, '.dockerignore'), '# build output\nnode_modules\n**/*.log\n!keep.log\nDockerfile\n');
    fs.writeFileSync(path.join(context, 'node_modules/x/index.js'), 'x');
    fs.writeFileSync(path.join(context, 'src/app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(context, 'src/debug.log'), 'noise');
    fs.writeFileSync(path.join(context, 'keep.log'), 'kept');
    fs.writeFileSync(path.join(context, 'src', deep), 'deep');
    fs.symlinkSync('app.js', path.join(context, 'src/main.js'));
    const result = await run('build', '-t', 'web:2', context);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'Step 1/2 : FROM busybox\nStep 2/2 : COPY . /app\nSuccessfully built web:2 (fefefefefefe) on node-1, copied to node-2\n');
    assert.match(result.stderr, /^sending the build context: 9 entries, 105 bytes\n$/);
    assert.deepEqual(seen.context, [
      '.dockerignore', 'Dockerfile', 'keep.log', 'src/', `src/${deep.split('/')[0]}/`, `src/${deep.split('/').slice(0, 2).join('/')}/`,
      `src/${deep}`, 'src/app.js', 'src/main.js',
    ].sort());
    assert.deepEqual(seen.requests.slice(-2), ['POST /api/v1/images/build?tag=web%3A2', 'GET /api/v1/registry'], 'no registry (404): nothing pushed');
  });

  it('build pushes its result from the node that built it when the cluster has a registry', async () => {
    const context = path.join(dir, 'pushed');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY . /app\n');
    seen.registry = true;
    try {
      const result = await run('build', '-t', 'web:5', context);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(seen.pushed, { ref: 'web:5', node: 'node-1' });
      assert.match(result.stdout, /Successfully built web:5 .*\n127\.0\.0\.1:7074\/web:5 sha256:(d1){32} \(from node-1: uploaded 1 of 3 blobs\)\n$/);
    } finally {
      seen.registry = false;
    }
  });

  it('build exits 1 naming the failed step, and 2 for usage errors', async () => {
    const context = path.join(dir, 'broken');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'build.df'), 'FROM busybox\nRUN false\n');
    const failed = await run('build', '-t', 'web:3', '-f', 'build.df', context);
    assert.deepEqual([failed.code, failed.stdout], [1, 'Step 1/2 : FROM busybox\nStep 2/2 : RUN false\n']);
    assert.match(failed.stderr, /error: build failed: step 2\/2 "RUN false": exit code 1\n$/);
    assert.equal(seen.requests.at(-1), 'POST /api/v1/images/build?tag=web%3A3&dockerfile=build.df');
    const usage: [string[], RegExp][] = [
      [['build', context], /^error: image build needs -t NAME\[:TAG\]/],
      [['build', '-t', 'Web', context], /^error: -t: "Web": the name must be lowercase/],
      [['build', '-t', 'web:4', path.join(dir, 'none')], /not a directory \(the build context\)/],
      [['build', '-t', 'web:4', context], /Dockerfile: no such file \(the Dockerfile\)/],
      [['ls', '-t', 'x'], /--tag does not apply to "image ls"/],
      [['frob'], /image needs import, ls, rm, tag, build, push, pull, prune, commit or history, got "frob"/],
      [['push'], /image push needs one NAME\[:TAG\]/],
      [['pull', 'a', 'b'], /image pull needs one REF/],
      [['pull', 'x', '--node', 'n1'], /--node does not apply to "image pull"/],
    ];
    for (const [args, message] of usage) {
      const run2 = await run(...args);
      assert.equal(run2.code, 2, args.join(' '));
      assert.match(run2.stderr, message);
    }
  });
});
