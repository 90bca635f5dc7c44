/**
 * Issue 21, first slice: the real docker CLI (Debian's docker.io client, /usr/bin/docker; no dockerd
 * runs) and Debian's docker-compose drive a Tide cluster through `tsctl docker-serve`, with
 * DOCKER_HOST from `tsctl docker-host`: on its unix socket, and on TCP with mutual TLS of the
 * cluster CA (`tsctl docker-host --tcp`), each client acting with its own role.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { REPO, TestCluster, waitFor } from './harness';
import { DOCKER, Run, dockerEnv, runProgram } from './docker.client';

const PUBLISHED = 23880;
/** `tsctl up --docker --docker-tcp`: the Docker API on TCP with mutual TLS (in this file's port range). */
const DOCKER_TCP = '127.0.0.1:23876';
/** Debian's docker-compose 1.29 (Python, docker-py): a client of the same API. */
const COMPOSE = '/usr/bin/docker-compose';
/** web serves a page; client fetches it by the service's name, as compose users write it. */
const COMPOSE_FILE = `version: "3"
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    expose: ["80"]
  client:
    image: busybox
    command: ["sh", "-c", "while true; do wget -qO- http://web/ || echo no-answer; sleep 1; done"]
`;


describe('the docker CLI against tsctl docker-serve', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let dockerHost = '';

  const docker = (args: string[]) => run(DOCKER, args);

  /** The docker CLI over TCP with the variables `tsctl docker-host --tcp` printed (none: plain TCP). */
  const dockerTcp = (environment: Record<string, string>, args: string[]) => run(DOCKER, args, undefined, environment);

  function run(program: string, args: string[], cwd?: string, environment: Record<string, string> = { DOCKER_HOST: dockerHost }): Promise<Run> {
    return runProgram(program, args, { cwd, env: dockerEnv(cluster.stateDir, undefined, environment) });
  }

  const explain = (run: Run) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\ndocker-serve: ${serveLog().slice(-3000)}`;
  const serveLog = () => (fs.existsSync(path.join(cluster.stateDir, 'docker-serve.log')) ? fs.readFileSync(path.join(cluster.stateDir, 'docker-serve.log'), 'utf8') : '');

  before(async () => {
    assert.ok(fs.existsSync(DOCKER), `${DOCKER} is missing: bash scripts/setup.sh installs Debian's docker.io (the client is used, no dockerd is started)`);
    assert.ok(fs.existsSync(COMPOSE), `${COMPOSE} is missing: bash scripts/setup.sh installs Debian's docker-compose`);
    // tsctl up --docker starts tsctl docker-serve in the background with the admin credential (on the
    // socket, and with --docker-tcp on TCP with mutual TLS); tsctl down stops it.
    cluster = await TestCluster.start({ nodes: 1, basePort: 23800, podCidr: '100.64.236.0/22', upFlags: ['--docker', '--docker-tcp', DOCKER_TCP] });
    const host = await cluster.tsctl(['docker-host']);
    assert.equal(host.code, 0, host.stderr);
    dockerHost = host.stdout.trim();
    const socket = path.join(cluster.stateDir, 'docker.sock');
    assert.equal(dockerHost, `unix://${socket}`);
    assert.equal(fs.statSync(socket).mode & 0o777, 0o660, 'the socket is the owner\'s and group\'s only');
  });

  after(async () => {
    await cluster?.stop();
  });

  it('docker version shows Tide as the engine, speaking API 1.41', async () => {
    const run = await docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}']);
    assert.equal(run.code, 0, explain(run));
    assert.match(run.stdout, /^\d+\.\d+\.\d+ 1\.41 linux\n$/);
  });

  /** `tsctl docker-host --tcp` into a new directory: the variables it printed, for the docker CLI. */
  async function tcpClient(name: string, tokenFlags: string[] = []): Promise<Record<string, string>> {
    const dir = fs.mkdtempSync(path.join(cluster.stateDir, `${name}-`));
    const host = await cluster.tsctl([...tokenFlags, 'docker-host', '--tcp', DOCKER_TCP, '--cert-dir', dir]);
    assert.equal(host.code, 0, host.stderr);
    const lines = host.stdout.trim().split('\n');
    assert.deepEqual(lines, [`export DOCKER_HOST=tcp://${DOCKER_TCP}`, 'export DOCKER_TLS_VERIFY=1', `export DOCKER_CERT_PATH=${dir}`]);
    assert.equal(fs.statSync(path.join(dir, 'key.pem')).mode & 0o777, 0o600, 'the key is the owner\'s only');
    return Object.fromEntries(lines.map((line) => line.replace(/^export /, '').split('=') as [string, string]));
  }

  /** One HTTPS request to the TCP endpoint, with the client files given (none: no client certificate). */
  function tcpRequest(method: string, pathAndQuery: string, files: { ca: string; cert?: string; key?: string }, body?: unknown): Promise<{ status: number; json: unknown }> {
    const [host, port] = DOCKER_TCP.split(':');
    return new Promise((resolve, reject) => {
      const req = https.request({ host, port: Number(port), method, path: pathAndQuery, ...files, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
  const filesOf = (dir: string, names: { cert?: string; key?: string } = { cert: 'cert.pem', key: 'key.pem' }) => ({
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    ...(names.cert ? { cert: fs.readFileSync(path.join(dir, names.cert), 'utf8') } : {}),
    ...(names.key ? { key: fs.readFileSync(path.join(dir, names.key), 'utf8') } : {}),
  });

  it('over TCP with mutual TLS: docker version, run --rm and ps with the certificate of tsctl docker-host --tcp', async () => {
    const tls = await tcpClient('tls-admin');
    const version = await dockerTcp(tls, ['version', '--format', '{{.Server.APIVersion}}']);
    assert.deepEqual([version.code, version.stdout], [0, '1.41\n'], explain(version));
    const hi = await dockerTcp(tls, ['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.deepEqual([hi.code, hi.stdout], [0, 'hi\n'], explain(hi));
    try {
      const started = await dockerTcp(tls, ['run', '-d', '--name', 'tcp-box', '--stop-timeout', '1', 'busybox', 'sleep', '600']);
      assert.equal(started.code, 0, explain(started));
      const ps = await dockerTcp(tls, ['ps', '--format', '{{.Names}} {{.Image}}']);
      assert.deepEqual([ps.code, ps.stdout], [0, 'tcp-box busybox\n'], explain(ps));
      // One cluster behind both: the socket's client sees what the TCP client made.
      assert.equal((await docker(['ps', '--format', '{{.Names}}'])).stdout, 'tcp-box\n');
    } finally {
      await docker(['rm', '-f', 'tcp-box']);
    }
  });

  it('over TCP: no plaintext, no connection without a client certificate or with one of another CA', async () => {
    const plain = await dockerTcp({ DOCKER_HOST: `tcp://${DOCKER_TCP}` }, ['version', '--format', '{{.Server.APIVersion}}']);
    assert.notEqual(plain.code, 0, `plain TCP must not be answered: ${explain(plain)}`);
    assert.equal(plain.stdout.trim(), '');
    const tls = await tcpClient('tls-refusals');
    await assert.rejects(tcpRequest('GET', '/_ping', filesOf(tls.DOCKER_CERT_PATH, {})), /certificate required|ECONNRESET|socket hang up|alert/i);
    // A CA of its own, and a client certificate of it claiming the admin role: the TLS layer refuses it.
    const other = fs.mkdtempSync(path.join(cluster.stateDir, 'other-ca-'));
    await otherCaClient(other);
    // ca.pem stays the cluster's: the client trusts the server, the server must not trust the client.
    fs.copyFileSync(path.join(tls.DOCKER_CERT_PATH, 'ca.pem'), path.join(other, 'ca.pem'));
    await assert.rejects(tcpRequest('GET', '/_ping', filesOf(other)), /unknown ca|ECONNRESET|socket hang up|alert/i);
    const foreign = await dockerTcp({ ...tls, DOCKER_CERT_PATH: other }, ['ps']);
    assert.notEqual(foreign.code, 0, explain(foreign));
    assert.match(foreign.stderr, /(unknown certificate authority|bad certificate|certificate required|connection reset)/i, explain(foreign));
  });

  it("over TCP each client acts with its own role: a view token's certificate reads, and gets Docker's 403 for a write", async () => {
    const made = await cluster.tsctl(['token', 'create', '--role', 'view', '--description', 'docker tcp e2e']);
    assert.equal(made.code, 0, made.stderr);
    const token = made.stdout.trim();
    const tls = await tcpClient('tls-view', ['--token', token]);
    const ps = await dockerTcp(tls, ['ps', '-a']);
    assert.equal(ps.code, 0, explain(ps));
    const run = await dockerTcp(tls, ['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.notEqual(run.code, 0, explain(run));
    assert.match(run.stderr, /role view may not \w+ services: it is read-only/, explain(run));
    const create = await tcpRequest('POST', '/v1.41/containers/create?name=not-made', filesOf(tls.DOCKER_CERT_PATH), { Image: 'busybox', Cmd: ['true'] });
    assert.equal(create.status, 403);
    assert.match((create.json as { message: string }).message, /role view may not \w+ services: it is read-only/);
    // Revoking the token ends its certificate too.
    const revoked = await cluster.tsctl(['token', 'revoke', token.split('_')[1]]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await tcpRequest('GET', '/v1.41/containers/json', filesOf(tls.DOCKER_CERT_PATH));
    assert.equal(after.status, 401);
    assert.match((after.json as { message: string }).message, /the token is revoked or unknown/);
  });

  it('docker run --rm prints the output, passes the exit code and leaves nothing behind', async () => {
    const hi = await docker(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.deepEqual([hi.code, hi.stdout], [0, 'hi\n'], explain(hi));
    // A Docker name that is no Tide service name (compose names containers so): kept as the client gave it.
    const failed = await docker(['run', '--rm', '--name', 'job_One.1', 'busybox', 'sh', '-c', 'echo out; exit 3']);
    assert.deepEqual([failed.code, failed.stdout], [3, 'out\n'], explain(failed));
    const all = await docker(['ps', '-a', '--format', '{{.Names}}']);
    assert.equal(all.code, 0, explain(all));
    assert.equal(all.stdout, '', 'the --rm containers are removed');
    const services = (await cluster.services()).filter((s) => s.metadata.labels?.['tide/docker']).map((s) => s.metadata.name);
    assert.equal(services.length, 0, `no service left behind: ${services.join(', ')}`);
  });

  it('docker run -d -p serves on the published port of the node; ps, logs, stop and rm follow it', async () => {
    const script = 'mkdir -p /www && echo hello-from-tide > /www/index.html && echo serving && exec httpd -f -p 80 -h /www';
    const run = await docker(['run', '-d', '--name', 'web', '-p', `${PUBLISHED}:80`, 'busybox', 'sh', '-c', script]);
    assert.equal(run.code, 0, explain(run));
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const [node] = await cluster.nodeList();
    const body = await waitFor('the page on the published port', async () => {
      const answer = await fetch(`http://${node.spec.address}:${PUBLISHED}/`).catch(() => undefined);
      return answer?.ok ? answer.text() : undefined;
    }, 90_000);
    assert.equal(body, 'hello-from-tide\n');

    const ps = await docker(['ps', '--no-trunc', '--format', '{{.ID}}|{{.Names}}|{{.Image}}|{{.Status}}|{{.Ports}}']);
    assert.equal(ps.code, 0, explain(ps));
    assert.match(ps.stdout, new RegExp(`^${id}\\|web\\|busybox\\|Up [^|]+\\|0\\.0\\.0\\.0:${PUBLISHED}->80/tcp\\n$`));
    const inspect = await docker(['inspect', '--format', '{{.State.Status}} {{.Name}}', id.slice(0, 12)]);
    assert.equal(inspect.stdout, 'running /web\n', explain(inspect));

    const logs = await docker(['logs', 'web']);
    assert.deepEqual([logs.code, logs.stdout], [0, 'serving\n'], explain(logs));

    const stop = await docker(['stop', 'web']);
    assert.deepEqual([stop.code, stop.stdout], [0, 'web\n'], explain(stop));
    assert.equal((await docker(['ps', '--format', '{{.Names}}'])).stdout, '');
    // httpd as PID 1 ignores SIGTERM: killed after the grace period (137), or 143 when its replica went before reporting.
    assert.match((await docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^web Exited \((137|143)\) \d+ seconds? ago\n$|^web Exited \((137|143)\) Less than a second ago\n$/);

    const rm = await docker(['rm', 'web']);
    assert.deepEqual([rm.code, rm.stdout], [0, 'web\n'], explain(rm));
    assert.equal((await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout, '');
  });

  it('docker logs -f follows a container until it exits', async () => {
    const run = await docker(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 1; done']);
    assert.equal(run.code, 0, explain(run));
    const follow = await docker(['logs', '-f', 'counter']);
    assert.deepEqual([follow.code, follow.stdout], [0, 'line 1\nline 2\nline 3\n'], explain(follow));
    const status = await docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'counter']);
    assert.equal(status.stdout, 'exited 0\n', explain(status));
    assert.equal((await docker(['rm', 'counter'])).code, 0);
  });

  it('docker create, start -a and wait: created until started, each start a fresh run with its exit code', async () => {
    const created = await docker(['create', '--name', 'once', 'busybox', 'sh', '-c', 'echo run; exit 4']);
    assert.equal(created.code, 0, explain(created));
    assert.equal((await docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, 'once Created\n');
    for (const round of [1, 2]) {
      const start = await docker(['start', '-a', 'once']);
      assert.deepEqual([start.code, start.stdout], [4, 'run\n'], `round ${round}: ${explain(start)}`);
    }
    const wait = await docker(['wait', 'once']);
    assert.deepEqual([wait.code, wait.stdout], [0, '4\n'], explain(wait));
    assert.equal((await docker(['rm', 'once'])).code, 0);
  });

  it('docker stop ends an attached docker run, which exits with the signal\'s code', async () => {
    let output = '';
    const attached = execFile(DOCKER, ['run', '--name', 'att', '--stop-timeout', '1', 'busybox', 'sh', '-c', 'echo up; sleep 600'], {
      env: dockerEnv(cluster.stateDir, dockerHost),
    });
    attached.stdout!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => attached.once('exit', resolve));
    try {
      await waitFor('"up" from the attached run', async () => output.includes('up\n'), 90_000);
      const stop = await docker(['stop', 'att']);
      assert.equal(stop.code, 0, explain(stop));
      // sh as PID 1 ignores SIGTERM: SIGKILL after the 1 s grace (137); 143 when the replica went before it reported.
      assert.ok([137, 143].includes((await exited) ?? -1), `docker run exited ${await exited}; output ${output}`);
    } finally {
      attached.kill();
    }
    assert.equal((await docker(['rm', 'att'])).code, 0);
  });

  it('docker exec runs in the container: streams kept apart, exit code, stdin with -i, a terminal with -it, detached with -d', async () => {
    assert.equal((await docker(['run', '-d', '--name', 'box', '--label', 'team=a', '--stop-timeout', '1', 'busybox', 'sleep', '600'])).code, 0);
    assert.equal((await docker(['ps', '--filter', 'label=team=a', '--format', '{{.Names}} {{.Labels}}'])).stdout, 'box team=a\n');
    assert.equal((await docker(['ps', '--filter', 'label=team=b', '--format', '{{.Names}}'])).stdout, '');
    const taken = await docker(['create', '--name', 'box', 'busybox']);
    assert.match(taken.stderr, /Conflict. The container name "\/box" is already in use by container "[0-9a-f]{64}"/);
    const plain = await docker(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([plain.code, plain.stdout, plain.stderr], [3, 'out\n', 'err\n'], explain(plain));
    const piped = await new Promise<Run>((resolve) => {
      const child = execFile(DOCKER, ['exec', '-i', 'box', 'wc', '-l'], { env: dockerEnv(cluster.stateDir, dockerHost) },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }));
      child.stdin!.end('a\nb\nc\n');
    });
    assert.deepEqual([piped.code, piped.stdout.trim()], [0, '3'], explain(piped));
    // util-linux script gives the docker CLI a terminal of 30 rows and 100 columns, as a user's would.
    const command = `stty rows 30 cols 100; ${DOCKER} exec -it box sh -c 'stty size; tty'; echo "[exit=$?]"`;
    const terminal = await new Promise<string>((resolve) => execFile('script', ['-qfec', command, '/dev/null'], {
      timeout: 120_000, env: dockerEnv(cluster.stateDir, dockerHost),
    }, (_error, stdout) => resolve(stdout)));
    assert.match(terminal, /30 100\r\n/, `the size of the local terminal: ${JSON.stringify(terminal)}`);
    assert.match(terminal, /\/dev\/pts\/\d+\r\n/, 'a terminal of its own');
    assert.match(terminal, /\[exit=0\]/);
    const options = await docker(['exec', '-e', 'A=1', '-e', 'B=two words', '-w', '/bin', '-u', '65534:65534', 'box', 'sh', '-c', 'echo "$A|$B|$(pwd)|$(id -u):$(id -g)"']);
    assert.deepEqual([options.code, options.stdout], [0, '1|two words|/bin|65534:65534\n'], explain(options));
    // -d answers at once; the process runs on in the container.
    const detached = await docker(['exec', '-d', 'box', 'sh', '-c', 'sleep 1; echo ran-detached > /tmp/detached']);
    assert.deepEqual([detached.code, detached.stdout], [0, ''], explain(detached));
    await waitFor('the detached exec to write its file', async () => (await docker(['exec', 'box', 'cat', '/tmp/detached'])).stdout === 'ran-detached\n', 60_000);
    const privileged = await docker(['exec', '--privileged', 'box', 'true']);
    assert.match(privileged.stderr, /does not support exec with --privileged/);
    assert.equal((await docker(['rm', '-f', 'box'])).code, 0);
  });

  /** Runs `command` under a terminal of 30 rows and 100 columns (util-linux script), typing each input once its prompt shows. */
  function underTerminal(command: string, inputs: Array<{ after: RegExp; type: string }>, timeoutMs = 120_000): Promise<string> {
    return new Promise((resolve) => {
      let shown = '';
      const child = execFile('script', ['-qfec', `stty rows 30 cols 100; ${command}; echo "[exit=$?]"`, '/dev/null'], {
        timeout: timeoutMs, env: dockerEnv(cluster.stateDir, dockerHost),
      }, () => resolve(shown));
      const pending = [...inputs];
      const type = () => {
        while (pending.length > 0 && pending[0].after.test(shown)) child.stdin!.write(pending.shift()!.type);
      };
      child.stdout!.on('data', (chunk) => {
        shown += chunk;
        type();
      });
      type();
    });
  }

  it('docker run -it: the main process on a terminal, typed input, its exit code, its log; -i pipes stdin', async () => {
    const typed = 'stty size; echo "hi from $(tty)"; exit 3\r';
    try {
      // busybox's line editor asks the terminal where its cursor is (ESC[6n) and, with no answer from
      // script's terminal, draws its prompt again (ESC[J): typed before that, the input would be read as the answer.
      const shown = await underTerminal(`${DOCKER} run -it --name term busybox sh`, [{ after: /# \x1b\[J$/, type: typed }]);
      assert.match(shown, /30 100\r\n/, `the local terminal's size: ${JSON.stringify(shown)}`);
      assert.match(shown, /hi from \/dev\/pts\/0\r\n/);
      assert.match(shown, /\[exit=3\]/);
      const logs = await docker(['logs', 'term']);
      assert.match(logs.stdout, /hi from \/dev\/pts\/0/, explain(logs));
      assert.equal((await docker(['inspect', '--format', '{{.Config.Tty}} {{.Config.OpenStdin}} {{.State.ExitCode}}', 'term'])).stdout, 'true true 3\n');
    } finally {
      await docker(['rm', '-f', 'term']);
    }
    const piped = await new Promise<Run>((resolve) => {
      const child = execFile(DOCKER, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo "eof seen"'], { env: dockerEnv(cluster.stateDir, dockerHost) },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }));
      child.stdin!.end('piped\n');
    });
    assert.deepEqual([piped.code, piped.stdout], [0, 'piped\neof seen\n'], explain(piped));
  });

  it('tsctl run -it and -i: the same terminal and stdin without a docker client', async () => {
    const tsctl = `${process.execPath} ${path.join(REPO, 'apps/tsctl/dist/main.js')} --server ${cluster.server}`;
    const shown = await underTerminal(`${tsctl} run -it --rm busybox -- sh`, [{ after: /# \x1b\[J$/, type: 'stty size; exit 6\r' }]);
    // Node's raw mode keeps the local terminal's ONLCR (libuv's choice, as for tsctl exec -it): \r\r\n.
    assert.match(shown, /30 100\r+\n/, JSON.stringify(shown));
    assert.match(shown, /\[exit=6\]/);
    const piped = await cluster.tsctl(['run', '-i', '--rm', 'busybox', '--', 'wc', '-l'], { input: 'a\nb\n' });
    assert.deepEqual([piped.code, piped.stdout.trim()], [0, '2'], piped.stderr);
  });

  it('a docker run -it whose client went away runs on, and docker attach reconnects to its terminal', async () => {
    // The client is killed once the shell shows its prompt: the container is left running, as dockerd leaves it.
    const left = await underTerminal(`timeout --foreground -s KILL 20 ${DOCKER} run -it --name keep busybox sh`, []);
    assert.match(left, /# /, `the prompt before the client was killed: ${JSON.stringify(left)}`);
    const up = await docker(['ps', '--filter', 'name=keep', '--format', '{{.Status}}']);
    assert.match(up.stdout, /^Up /, explain(up));
    const shown = await underTerminal(`${DOCKER} attach keep`, [{ after: /^/, type: 'echo "back again"; exit 4\r' }]);
    assert.match(shown, /back again\r\n/, JSON.stringify(shown));
    assert.match(shown, /\[exit=4\]/);
    assert.equal((await docker(['rm', 'keep'])).code, 0);
  });

  it('docker kill --signal reaches the main process: a trapped signal leaves it running, SIGKILL ends it', async () => {
    const run = await docker(['run', '-d', '--name', 'trap', 'busybox', 'sh', '-c', 'trap "echo got HUP" HUP; echo ready; while true; do sleep 0.2; done']);
    assert.equal(run.code, 0, explain(run));
    await waitFor('"ready" in the log', async () => (await docker(['logs', 'trap'])).stdout.includes('ready'), 60_000);
    const hup = await docker(['kill', '--signal', 'HUP', 'trap']);
    assert.equal(hup.code, 0, explain(hup));
    await waitFor('"got HUP" in the log', async () => (await docker(['logs', 'trap'])).stdout.includes('got HUP'), 30_000);
    assert.match((await docker(['ps', '--filter', 'name=trap', '--format', '{{.Status}}'])).stdout, /^Up /);
    const bad = await docker(['kill', '--signal', 'NOPE', 'trap']);
    assert.match(bad.stderr, /Invalid signal: NOPE/);
    assert.equal((await docker(['kill', 'trap'])).code, 0);
    assert.equal((await docker(['wait', 'trap'])).stdout, '137\n');
    assert.equal((await docker(['rm', 'trap'])).code, 0);
  });

  it('tsctl run and tsctl ps drive the same containers without a docker client', async () => {
    const run = await cluster.tsctl(['run', '--rm', 'busybox', '--', 'sh', '-c', 'echo from-tsctl; exit 5']);
    assert.deepEqual([run.code, run.stdout], [5, 'from-tsctl\n'], run.stderr);
    const detached = await cluster.tsctl(['run', '-d', '--name', 'bg', 'busybox', '--', 'sleep', '600']);
    assert.equal(detached.code, 0, detached.stderr);
    const ps = await cluster.tsctl(['ps']);
    assert.match(ps.stdout, /^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n[0-9a-f]{12} +busybox +"sleep 600" +\d+s ago +Up [^\n]+ bg\n$/);
    const seen = await docker(['ps', '--format', '{{.Names}}']);
    assert.equal(seen.stdout, 'bg\n', 'docker ps sees what tsctl run started');
    assert.equal((await docker(['rm', '-f', 'bg'])).code, 0);
  });

  it('docker images and docker history show what the nodes hold', async () => {
    const images = await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    assert.equal(images.code, 0, explain(images));
    assert.match(images.stdout, /^busybox:latest [0-9a-f]{12}$/m);
    const history = await docker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'busybox']);
    assert.equal(history.code, 0, explain(history));
    assert.ok(history.stdout.trim().length > 0, 'at least one step');
    const missing = await docker(['rmi', 'no-such-image:1']);
    assert.match(missing.stderr, /No such image: no-such-image:1/);
  });

  it('docker-compose brings up a web server and a client that reaches it by its service name, and takes both down', async () => {
    const project = path.join(cluster.stateDir, 'compose');
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'docker-compose.yml'), COMPOSE_FILE);
    const compose = (args: string[]) => run(COMPOSE, ['-p', 'tidedemo', ...args], project);
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, explain(up));
    // The client asks http://web/ every second: the node's DNS answers "web" on the project's network.
    const logs = await waitFor("the web server's page in the client's logs", async () => {
      const read = await compose(['logs', '--no-color', 'client']);
      return read.stdout.includes('hello-from-web') ? read.stdout : undefined;
    }, 120_000);
    // compose prefixes each line with the service and its number.
    assert.match(logs, /^client_1 +\| hello-from-web$/m);
    const ps = await compose(['ps']);
    assert.equal(ps.code, 0, explain(ps));
    assert.match(ps.stdout, /^tidedemo_client_1 +sh -c while .* Up *\n/m, ps.stdout);
    assert.match(ps.stdout, /^tidedemo_web_1 +sh -c mkdir .* Up +80\/tcp *\n/m, ps.stdout);
    // The network is a namespace of its own; its Services are named after the compose services.
    const inspect = await docker(['network', 'inspect', '--format', '{{.Tide.Namespace}} {{.Labels}}', 'tidedemo_default']);
    assert.equal(inspect.code, 0, explain(inspect));
    const namespace = inspect.stdout.split(' ')[0];
    assert.match(inspect.stdout, /com\.docker\.compose\.project:tidedemo/);
    const servicesIn = async () => (await cluster.services()).filter((s) => s.metadata.namespace === namespace).map((s) => s.metadata.name).sort();
    assert.deepEqual(await servicesIn(), ['client', 'web']);

    const down = await compose(['down']);
    assert.equal(down.code, 0, explain(down));
    assert.match(down.stderr, /Removing network tidedemo_default/);
    assert.deepEqual(await servicesIn(), [], 'no Tide service left');
    assert.equal((await docker(['network', 'ls', '--filter', 'label=com.docker.compose.project=tidedemo', '--format', '{{.Name}}'])).stdout, '', 'no network left');
    assert.equal((await docker(['ps', '-a', '--format', '{{.Names}}'])).stdout, '');

    // A feature Tide does not serve fails in Docker's words, naming it.
    fs.writeFileSync(path.join(project, 'docker-compose.yml'), `${COMPOSE_FILE}    privileged: true\n`);
    const refused = await compose(['up', '-d']);
    assert.notEqual(refused.code, 0, explain(refused));
    assert.match(refused.stderr, /Tide's Docker API does not support privileged containers/);
    assert.equal((await compose(['down'])).code, 0);
  });

  it('docker volume create, run -v, inspect and rm: the data outlives its containers, rm refused while one mounts it', async () => {
    const created = await docker(['volume', 'create', '--label', 'tier=db', 'shop_data']);
    assert.equal(created.code, 0, explain(created));
    assert.equal(created.stdout.trim(), 'shop_data');
    assert.equal((await docker(['volume', 'ls', '--filter', 'label=tier=db', '--format', '{{.Name}} {{.Driver}}'])).stdout, 'shop_data local\n');
    const write = await docker(['run', '--rm', '-v', 'shop_data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']);
    assert.equal(write.code, 0, explain(write));
    const read = await docker(['run', '--rm', '-v', 'shop_data:/data:ro', 'busybox', 'sh', '-c', 'cat /data/f; echo x > /data/g || echo read-only']);
    assert.equal(read.code, 0, explain(read));
    assert.match(read.stdout, /^kept\n(.|\n)*read-only\n$/);
    // A bind mount of the node's directory (the server acts as admin) and a tmpfs with its size.
    const hostDir = path.join(cluster.stateDir, 'bind-source');
    fs.mkdirSync(hostDir, { recursive: true });
    fs.writeFileSync(path.join(hostDir, 'page'), 'from-the-host\n');
    const bind = await docker(['run', '--rm', '-v', `${hostDir}:/h`, '--tmpfs', '/scratch:size=1m', 'busybox', 'sh', '-c', 'cat /h/page; grep " /scratch " /proc/mounts']);
    assert.equal(bind.code, 0, explain(bind));
    assert.match(bind.stdout, /^from-the-host\ntmpfs \/scratch tmpfs /);

    const holder = await docker(['create', '--name', 'holder', '-v', 'shop_data:/data', 'busybox', 'true']);
    assert.equal(holder.code, 0, explain(holder));
    const mounts = await docker(['inspect', '--format', '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}', 'holder']);
    assert.equal(mounts.stdout.trim(), 'volume shop_data /data');
    const inUse = await docker(['volume', 'rm', 'shop_data']);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /remove shop_data: volume is in use - \[[0-9a-f]{64}\]/);
    assert.equal((await docker(['rm', 'holder'])).code, 0);
    // The runs' replicas may still be stopping on the node, which refuses to delete a volume they mount.
    const removeVolume = () => waitFor('docker volume rm once no replica mounts it', async () => {
      const removed = await docker(['volume', 'rm', 'shop_data']);
      if (removed.code !== 0 && !/in use by replica/.test(removed.stderr)) assert.fail(explain(removed));
      return removed.code === 0 ? removed : undefined;
    }, 120_000);
    await removeVolume();
    assert.equal((await docker(['volume', 'ls', '--format', '{{.Name}}'])).stdout, '');
    // Its data went with it: the same name is a new, empty volume (dockerd makes it on first use).
    const fresh = await docker(['run', '--rm', '-v', 'shop_data:/data', 'busybox', 'ls', '-A', '/data']);
    assert.equal(fresh.code, 0, explain(fresh));
    assert.equal(fresh.stdout, '');
    await removeVolume();
  });

  it('docker events follows containers: create, start, die, destroy; docker-compose up in the foreground follows its containers to their end', async () => {
    const env = dockerEnv(cluster.stateDir, dockerHost);
    let told = '';
    const follower = spawn(DOCKER, ['events', '--filter', 'container=evbox', '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { env });
    follower.stdout.on('data', (chunk: Buffer) => (told += chunk.toString()));
    try {
      // The events start from the call: wait until the server has its first read (a container made meanwhile is told).
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const ran = await docker(['run', '--rm', '--name', 'evbox', 'busybox', 'sh', '-c', 'sleep 2']);
      assert.equal(ran.code, 0, explain(ran));
      await waitFor('create, start, die and destroy of evbox', async () => /create evbox\n(.|\n)*start evbox\n(.|\n)*die evbox\n(.|\n)*destroy evbox\n/.test(told), 60_000);
    } finally {
      follower.kill();
    }

    const project = path.join(cluster.stateDir, 'compose-up');
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'docker-compose.yml'), 'version: "3"\nservices:\n  once:\n    image: busybox\n    command: ["sh", "-c", "sleep 2; echo attached-hello"]\n');
    const up = await run(COMPOSE, ['-p', 'tideup', 'up', '--no-color'], project);
    assert.equal(up.code, 0, explain(up));
    assert.match(up.stdout, /once_1 +\| attached-hello/);
    assert.match(up.stdout, /tideup_once_1 exited with code 0/);
    assert.equal((await run(COMPOSE, ['-p', 'tideup', 'down'], project)).code, 0);
  });

  it("answers what it does not serve in Docker's words", async () => {
    const missing = await docker(['rm', 'ghost']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such container: ghost/);
    // busybox is built into every node, not in the cluster registry: a pull is the registry's answer.
    const pull = await docker(['pull', 'busybox']);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, /^Error response from daemon: .*manifest unknown/m);
    const internal = await docker(['network', 'create', '--internal', 'sealed']);
    assert.equal(internal.code, 1);
    assert.match(internal.stderr, /does not support internal networks \(--internal\)/);
    const search = await docker(['search', 'busybox']);
    assert.equal(search.code, 1);
    assert.match(search.stderr, /does not support this image endpoint \(search, load, save, prune/);
  });
});

/** A CA of its own (openssl) and a client certificate of it naming an admin, in DIR/cert.pem and key.pem. */
async function otherCaClient(dir: string): Promise<void> {
  const openssl = (args: string[]) => new Promise<void>((resolve, reject) => {
    execFile('openssl', args, { cwd: dir }, (error, _stdout, stderr) => (error ? reject(new Error(`openssl ${args[0]}: ${stderr}`)) : resolve()));
  });
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=other-ca', '-days', '1', '-keyout', 'other-ca.key', '-out', 'other-ca.pem']);
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=token:aaaaaaaaaaaa/O=tide:role:admin', '-keyout', 'key.pem', '-out', 'client.csr']);
  await openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'other-ca.pem', '-CAkey', 'other-ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'client.ext', '-out', 'cert.pem']);
}
