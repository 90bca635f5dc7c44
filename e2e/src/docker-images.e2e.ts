/**
 * Issue 21, the image verbs: the real docker CLI (Debian's docker.io client, /usr/bin/docker; no
 * dockerd runs) against `tsctl docker-serve` on a two-node cluster with the embedded registry:
 * `docker build -t` and a run of the result, `docker commit` of a container that wrote a file and a
 * run of the commit (on whichever node: the commit reaches the others through the registry),
 * `docker tag` and `docker push` to Tide's registry, `docker rmi`, `docker pull` back, `docker images`
 * and `docker image inspect`, `docker run` of an image only the registry has (the CLI pulls it); each with the exit code and the lines dockerd's answers make docker print.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, waitFor } from './harness';
import { DOCKER, Run, dockerEnv, runProgram } from './docker.client';

const BASE = 24000; // API; gRPC +1, etcd +2/+3, registry +4, agents +11..
const POD_CIDR = '100.64.248.0/22';
const REGISTRY = `127.0.0.1:${BASE + 4}`;


describe('docker image verbs against tsctl docker-serve', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let dockerHost = '';

  const docker = (args: string[], timeoutMs = 240_000) => runProgram(DOCKER, args, { env: dockerEnv(cluster.stateDir, dockerHost), timeoutMs });

  const serveLog = () => (fs.existsSync(path.join(cluster.stateDir, 'docker-serve.log')) ? fs.readFileSync(path.join(cluster.stateDir, 'docker-serve.log'), 'utf8') : '');
  const explain = (run: Run) => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\ndocker-serve: ${serveLog().slice(-3000)}`;

  before(async () => {
    assert.ok(fs.existsSync(DOCKER), `${DOCKER} is missing: bash scripts/setup.sh installs Debian's docker.io (the client is used, no dockerd is started)`);
    cluster = await TestCluster.start({ nodes: 2, basePort: BASE, podCidr: POD_CIDR, upFlags: ['--docker'] });
    const host = await cluster.tsctl(['docker-host']);
    assert.equal(host.code, 0, host.stderr);
    dockerHost = host.stdout.trim();
  });

  after(async () => {
    await docker(['rm', '-f', 'writer']).catch(() => undefined);
    await cluster?.stop();
  });

  it('docker build -t streams the steps and ends as dockerd\'s legacy builder; the image runs', async () => {
    const context = fs.mkdtempSync(path.join(cluster.stateDir, 'context-'));
    fs.writeFileSync(path.join(context, 'greeting.txt'), 'hello from the context\n');
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN echo built by a RUN step > /built.txt\nCMD ["cat", "/greeting.txt", "/built.txt"]\n');
    const build = await docker(['build', '-t', 'tide-e2e/app:1', context]);
    assert.equal(build.code, 0, explain(build));
    assert.match(build.stdout, /^Sending build context to Docker daemon/m);
    assert.match(build.stdout, /^Step 1\/4 : FROM busybox$/m);
    assert.match(build.stdout, /^Step 4\/4 : CMD \["cat", "\/greeting.txt", "\/built.txt"\]$/m);
    const built = /^Successfully built ([0-9a-f]{12})\nSuccessfully tagged tide-e2e\/app:1\n$/m.exec(build.stdout);
    assert.ok(built, explain(build));
    const inspect = await docker(['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}} {{json .Config.Cmd}}', 'tide-e2e/app:1']);
    assert.equal(inspect.code, 0, explain(inspect));
    assert.match(inspect.stdout, new RegExp(`^sha256:${built[1]}[0-9a-f]{52} \\["tide-e2e/app:1"\\] \\["cat","/greeting.txt","/built.txt"\\]\\n$`));

    const run = await docker(['run', '--rm', 'tide-e2e/app:1']);
    assert.deepEqual([run.code, run.stdout], [0, 'hello from the context\nbuilt by a RUN step\n'], explain(run));

    // -q: the image ID alone (the build cache makes it the same image).
    const quiet = await docker(['build', '-q', '-t', 'tide-e2e/app:1', context]);
    assert.deepEqual([quiet.code, quiet.stdout.slice(0, 19)], [0, `sha256:${built[1]}`], explain(quiet));
    assert.match(quiet.stdout, /^sha256:[0-9a-f]{64}\n$/);

    // A failing RUN step: docker exits with the step's code, as against dockerd.
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN exit 3\n');
    const failed = await docker(['build', '-t', 'tide-e2e/broken:1', context]);
    assert.equal(failed.code, 3, explain(failed));
    assert.match(failed.stderr, /exited with code 3/);
  });

  it('docker commit turns what a running container wrote into an image a new container sees', async () => {
    const run = await docker(['run', '-d', '--name', 'writer', 'busybox', 'sh', '-c', 'echo written in the container > /note.txt; exec sleep 600']);
    assert.equal(run.code, 0, explain(run));
    await waitFor('the file the container writes', async () => (await docker(['exec', 'writer', 'cat', '/note.txt'])).code === 0, 90_000);
    const commit = await docker(['commit', 'writer', 'tide-e2e/noted:1']);
    assert.equal(commit.code, 0, explain(commit));
    assert.match(commit.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const inspect = await docker(['image', 'inspect', '--format', '{{.Id}}', 'tide-e2e/noted:1']);
    assert.equal(inspect.stdout, commit.stdout, explain(inspect));
    assert.equal((await docker(['rm', '-f', 'writer'])).code, 0);

    // Twice: the scheduler may place either run on either node; the node without the commit pulls it from the registry.
    for (const round of [1, 2]) {
      const read = await docker(['run', '--rm', 'tide-e2e/noted:1', 'cat', '/note.txt']);
      assert.deepEqual([read.code, read.stdout], [0, 'written in the container\n'], `round ${round}: ${explain(read)}`);
    }
    // The commit reached the registry: a pull of it answers from there.
    const pull = await docker(['pull', `${REGISTRY}/tide-e2e/noted:1`]);
    assert.equal(pull.code, 0, explain(pull));
    assert.match(pull.stdout, new RegExp(`^Status: Image is up to date for ${REGISTRY}/tide-e2e/noted:1$|^Status: Downloaded newer image for ${REGISTRY}/tide-e2e/noted:1$`, 'm'));

    const stopped = await docker(['create', '--name', 'idle', 'busybox', 'true']);
    assert.equal(stopped.code, 0, explain(stopped));
    const refused = await docker(['commit', 'idle', 'tide-e2e/idle:1']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error response from daemon: container idle is not running: Tide commits running containers only/m);
    assert.equal((await docker(['rm', 'idle'])).code, 0);
  });

  it('docker tag and push to Tide\'s registry, rmi, pull back, and images shows it', async () => {
    const target = `${REGISTRY}/tide-e2e/app:2`;
    const tag = await docker(['tag', 'tide-e2e/app:1', target]);
    assert.deepEqual([tag.code, tag.stdout], [0, ''], explain(tag));
    const push = await docker(['push', target]);
    assert.equal(push.code, 0, explain(push));
    assert.match(push.stdout, new RegExp(`^The push refers to repository \\[${REGISTRY}/tide-e2e/app\\]\\n`));
    assert.match(push.stdout, /^[0-9a-f]{12}: (Pushed|Layer already exists)$/m);
    const pushed = /^2: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(push.stdout);
    assert.ok(pushed, explain(push));

    const rmi = await docker(['rmi', target]);
    assert.deepEqual([rmi.code, rmi.stdout], [0, `Untagged: ${target}\n`], explain(rmi)); // tide-e2e/app:1 still holds the image
    const gone = await docker(['image', 'inspect', target]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`No such image: ${target}`));

    const pull = await docker(['pull', target]);
    assert.equal(pull.code, 0, explain(pull));
    assert.match(pull.stdout, /^2: Pulling from tide-e2e\/app\n/);
    assert.match(pull.stdout, new RegExp(`^Digest: ${pushed[1]}\\nStatus: Downloaded newer image for ${target}\\n${target}\\n$`, 'm'));
    const again = await docker(['pull', target]);
    assert.match(again.stdout, new RegExp(`^Status: Image is up to date for ${target}$`, 'm'), explain(again));

    const images = await docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', 'tide-e2e/app']);
    assert.equal(images.code, 0, explain(images));
    const rows = images.stdout.trim().split('\n').sort();
    assert.equal(rows.length, 2, explain(images));
    assert.match(rows[0], /^tide-e2e\/app:1 [0-9a-f]{12}$/);
    assert.equal(rows[1], `tide-e2e/app:2 ${rows[0].split(' ')[1]}`, 'the cluster registry\'s images are kept under their short names');

    const missing = await docker(['pull', `${REGISTRY}/tide-e2e/absent:1`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error response from daemon: .*(manifest unknown|not found)/m, explain(missing));
  });

  it('docker rmi by name and by id, and what Tide does not serve is named', async () => {
    const byId = await docker(['image', 'inspect', '--format', '{{.Id}}', 'tide-e2e/noted:1']);
    const conflict = await docker(['rmi', (await docker(['image', 'inspect', '--format', '{{.Id}}', 'tide-e2e/app:1'])).stdout.trim().slice(7, 19)]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
    const rmi = await docker(['rmi', 'tide-e2e/app:1', 'tide-e2e/app:2', byId.stdout.trim()]);
    assert.equal(rmi.code, 0, explain(rmi));
    assert.match(rmi.stdout, /^Untagged: tide-e2e\/app:1\nUntagged: tide-e2e\/app:2\nDeleted: sha256:[0-9a-f]{64}\nUntagged: tide-e2e\/noted:1\nDeleted: sha256:[0-9a-f]{64}\n$/);
    assert.equal((await docker(['images', '-q', 'tide-e2e/*'])).stdout, '');

    // An image no node holds: docker run is told so, pulls it from the registry and runs it, as against dockerd.
    const run = await docker(['run', '--rm', `${REGISTRY}/tide-e2e/app:2`]);
    assert.deepEqual([run.code, run.stdout], [0, 'hello from the context\nbuilt by a RUN step\n'], explain(run));
    assert.match(run.stderr, new RegExp(`^Unable to find image '${REGISTRY}/tide-e2e/app:2' locally\n2: Pulling from tide-e2e/app\n`));

    const save = await docker(['save', '-o', path.join(cluster.stateDir, 'busybox.tar'), 'busybox']);
    assert.equal(save.code, 1);
    assert.match(save.stderr, /Tide's Docker API does not support this image endpoint \(search, load, save, prune/);
  });
});
