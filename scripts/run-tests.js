#!/usr/bin/env node
// The suite's runner (scripts/test.sh): `node scripts/run-tests.js [--jobs N] [--file-minutes M] [FILE…]`.
//
// Unit specs run in two streams side by side: the files that make kernel objects one at a time in one
// (then a share of the others, so that both end together), the others one at a time in the other.
// Each end-to-end file then runs in a process of its own, with a temporary directory of its own
// ($TMPDIR, where its clusters keep their state), so that what a file leaves behind can be found and
// removed: a file that does not finish within its limit is
// killed, its clusters are taken down, and the suite goes on instead of hanging (each step of that
// cleanup runs off the event loop and is given up on after its limit, so that one stuck step, such as
// a /proc read blocked on a process's memory map, holds neither the other lanes nor the suite). `--jobs N` (default
// 3) runs N end-to-end files at once (the files' ports and pod CIDRs are distinct; see e2e/README.md),
// longest first. Each file's output is printed whole when it ends, then a table of the files by duration.
'use strict';
const { execFile, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');

const ROOT = path.resolve(__dirname, '..');
const TSCTL = path.join(ROOT, 'apps/tsctl/dist/main.js');
/** Lines of each process log shown for a failed end-to-end file. */
const LOG_TAIL_LINES = 40;
/** Lines of each failing test's error repeated at the end of the suite's output. */
const RECAP_ERROR_LINES = 8;
/** How many of a failed file's notable process log lines the recap shows. */
const RECAP_LOG_LINES = 12;

function parseArgs(argv) {
  // Three lanes on two cores: an end-to-end file spends most of its time waiting for a cluster to
  // converge (or for a cron minute), so with two the cores sat idle; a quiet run with three was 754 s
  // for 2,154 s of files (2.9 at once, the cores 22 % idle), where two lanes would need 1,077 s at
  // best; loaded suite runs went from 1,479 s (two) to 1,262-1,328 s (three).
  const options = { jobs: 3, fileMinutes: 15, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--jobs' || flag === '--file-minutes') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} takes a whole number of at least 1, not ${argv[i]}`);
      options[flag === '--jobs' ? 'jobs' : 'fileMinutes'] = value;
    } else if (flag.startsWith('--')) {
      throw new Error(`unknown flag ${flag}: the flags are --jobs N and --file-minutes M`);
    } else {
      options.files.push(flag);
    }
  }
  return options;
}

function distFiles(suffix) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (entry.name.endsWith(suffix) && full.includes(`${path.sep}dist${path.sep}`)) {
        found.push(path.relative(ROOT, full));
      }
    }
  };
  for (const dir of ['libs', 'apps', 'e2e']) if (fs.existsSync(path.join(ROOT, dir))) walk(path.join(ROOT, dir));
  return found.sort();
}

// A file whose tests have all finished ends even if a handle leaked (--test-force-exit, Node 20.14 and
// later); a test that hangs fails after the per-test limit instead of holding the suite.
const [major, minor] = process.versions.node.split('.').map(Number);
const NODE_TEST = ['--test', '--test-concurrency=1', `--test-timeout=${10 * 60_000}`, ...(major > 20 || minor >= 14 ? ['--test-force-exit'] : [])];

// Spec files that make kernel objects (namespaces, cgroups, mounts, network devices, containers) run
// one at a time: some check what the kernel holds when they end (no mount, device or group of theirs
// left), which another file's objects would upset. The others (stores on their own etcd, servers on
// free ports) run in a second stream beside them, so the two cores are both used.
const KERNEL_SPEC_DIRS = ['libs/runtime/', 'libs/syscall/', 'apps/node-agent/'];
const KERNEL_SPEC_TEXT = /runtime\.fixture|LinuxRuntime|netns|cgroup|overlay|\/proc\/mounts|unshare|setns|veth|iptables|tide-init|tide-launch/;

function touchesKernel(file) {
  return KERNEL_SPEC_DIRS.some((dir) => file.startsWith(dir)) || KERNEL_SPEC_TEXT.test(fs.readFileSync(path.resolve(ROOT, file), 'utf8'));
}

/** One `node --test` process over `files`, one file at a time; its output kept, and also passed on as it comes if `live`. */
function runSpecStream(files, live) {
  // No files would make `node --test` look for test files itself: everything under the repository.
  if (files.length === 0) return Promise.resolve({ files: 0, status: 0, signal: null, ms: 0, output: '' });
  return new Promise((resolve) => {
    const started = Date.now();
    const out = [];
    const child = spawn(process.execPath, [...NODE_TEST, ...files], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => {
      out.push(chunk);
      if (live) process.stdout.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code, signal) => resolve({ files: files.length, status: code ?? 1, signal, ms: Date.now() - started, output: Buffer.concat(out).toString('utf8') }));
  });
}

/**
 * The share of the non-kernel files the second stream takes; the first takes the rest after the kernel
 * files, so that both end together: by the last run's times (dist/.unit-streams.json), else 0.7 (a
 * quiet run: 82 s of kernel files, 189 s of the others).
 */
function othersShare(timesFile) {
  const last = readJson(timesFile);
  if (!(last.kernelMs > 0 && last.otherMsPerFile > 0 && last.otherFiles > 0)) return 0.7;
  const others = last.otherMsPerFile * last.otherFiles;
  return Math.min(1, Math.max(0.5, (last.kernelMs + others) / (2 * others)));
}

async function runUnits(files) {
  if (files.length === 0) return { status: 0, recap: '' };
  const started = Date.now();
  const timesFile = path.join(ROOT, 'dist', '.unit-streams.json');
  const kernel = files.filter(touchesKernel);
  const others = files.filter((file) => !kernel.includes(file));
  // The kernel stream's share of the others is spread over the list (every third or so), not its tail:
  // files differ in length, and the alphabet groups the short ones.
  const rest = 1 - othersShare(timesFile);
  const afterKernel = others.filter((_, i) => Math.floor((i + 1) * rest) > Math.floor(i * rest));
  const second = others.filter((file) => !afterKernel.includes(file));
  // The kernel stream's output goes out as it comes, then its share of the others'; the second
  // stream's is printed whole after both.
  const first = (async () => [await runSpecStream(kernel, true), await runSpecStream(afterKernel, false)])();
  const [[kernelRun, restRun], othersRun] = await Promise.all([first, runSpecStream(second, false)]);
  process.stdout.write(restRun.output);
  process.stdout.write(othersRun.output);
  const runs = [['kernel', kernelRun], ['other', othersRun], ['other, after the kernel files', restRun]];
  for (const [name, run] of runs) {
    if (run.files > 0) console.log(`# unit specs, ${name}: ${run.files} files in ${seconds(run.ms)}, exit ${run.signal ?? run.status}`);
  }
  if (kernelRun.files > 0 && othersRun.files > 0) {
    fs.mkdirSync(path.dirname(timesFile), { recursive: true });
    const otherMsPerFile = (othersRun.ms + restRun.ms) / (othersRun.files + restRun.files);
    fs.writeFileSync(timesFile, JSON.stringify({ kernelMs: kernelRun.ms, otherMsPerFile, otherFiles: others.length }));
  }
  const failing = runs.map(([, run]) => run).filter((run) => run.status !== 0);
  const status = failing.length > 0 ? failing[0].status : 0;
  console.log(`# unit specs: ${files.length} files in ${seconds(Date.now() - started)}, exit ${status}`);
  return { status, recap: failing.map((run) => failureRecap(run.output)).join('\n') };
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Processes whose command line mentions `dir`, other than this one. */
async function processesUnder(dir) {
  const entries = (await fs.promises.readdir('/proc')).filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid);
  const mentions = await Promise.all(entries.map((entry) => fs.promises.readFile(`/proc/${entry}/cmdline`, 'utf8').then((cmdline) => cmdline.includes(dir), () => false)));
  return entries.filter((_, i) => mentions[i]).map(Number);
}

/** Limits of removeLeftovers' steps, in seconds: each is given up on after its limit. */
const LEFTOVER_LIMITS_S = { logs: 60, down: 180, processes: 30, mounts: 30, remove: 60 };

/**
 * Runs one step of removeLeftovers off the event loop, so that the other lane's files and timers go
 * on meanwhile; after `limitS` it is given up on (it may still be running) and `found` says so. The
 * harness's teardownStep (e2e/src/harness.ts) does the same for a test's own teardown.
 */
async function leftoverStep(found, what, limitS, run) {
  let timer;
  const gaveUp = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), limitS * 1000);
  });
  try {
    const ended = await Promise.race([run().then(() => true, (err) => {
      found.push(`${what} failed: ${err.message}`);
      return true;
    }), gaveUp]);
    if (!ended) found.push(`${what} still running after ${limitS} s: given up`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command to its end (or its `timeoutS`, then SIGKILL), with its output ignored. */
function runQuietly(command, args, timeoutS) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutS * 1000, killSignal: 'SIGKILL' }, () => resolve());
  });
}

/**
 * Takes down what a file left in its directory: each cluster (`tsctl down --purge` on every state
 * dir with a cluster.json), then any process still naming the directory, then mounts under it.
 * Each step is bounded (LEFTOVER_LIMITS_S). Returns what it found, for the report.
 */
async function removeLeftovers(dir, logsDir) {
  const found = [];
  const stateDirs = [];
  const walk = (d, depth) => {
    if (depth > 3) return;
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.name === 'cluster.json')) stateDirs.push(d);
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name), depth + 1);
  };
  walk(dir, 0);
  for (const stateDir of stateDirs) {
    if (!fs.existsSync(path.join(stateDir, 'cluster.json'))) continue; // purged with its parent
    found.push(`cluster ${stateDir}`);
    await leftoverStep(found, `keeping the logs of ${stateDir}`, LEFTOVER_LIMITS_S.logs, () => copyLogs(stateDir, path.join(logsDir, path.basename(stateDir))));
    await leftoverStep(found, `taking down ${stateDir}`, LEFTOVER_LIMITS_S.down, () => runQuietly(process.execPath, [TSCTL, 'down', '--state-dir', stateDir, '--purge'], LEFTOVER_LIMITS_S.down));
  }
  await leftoverStep(found, 'killing the processes that name it', LEFTOVER_LIMITS_S.processes, async () => {
    const pids = await processesUnder(dir);
    if (pids.length > 0) found.push(`${pids.length} process(es)`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  await leftoverStep(found, 'unmounting what is under it', LEFTOVER_LIMITS_S.mounts, async () => {
    const mounts = (await fs.promises.readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(dir));
    if (mounts.length > 0) found.push(`${mounts.length} mount(s)`);
    for (const mount of mounts.sort().reverse()) await runQuietly('umount', ['-l', mount], LEFTOVER_LIMITS_S.mounts);
  });
  await leftoverStep(found, `removing ${dir}`, LEFTOVER_LIMITS_S.remove, () => fs.promises.rm(dir, { recursive: true, force: true }));
  return found;
}

async function copyLogs(from, to) {
  for (const entry of await fs.promises.readdir(from, { recursive: true })) {
    if (!String(entry).endsWith('.log')) continue;
    await fs.promises.mkdir(path.dirname(path.join(to, String(entry))), { recursive: true });
    await copyAsFarAsItGoes(path.join(from, String(entry)), path.join(to, String(entry))).catch(() => undefined); // gone since listed
  }
}

/**
 * Copies what `from` holds when the copy starts, or less if it shrinks meanwhile. Not fs.copyFile,
 * which spins forever on a file truncated under it (a container log cut back to its bound): see
 * e2e/src/harness.ts, whose function of the same name this is.
 */
async function copyAsFarAsItGoes(from, to) {
  const { size } = await fs.promises.stat(from);
  if (size === 0) return fs.promises.writeFile(to, '');
  await pipeline(fs.createReadStream(from, { end: size - 1 }), fs.createWriteStream(to));
}

/** The last lines of each process log a failed file's clusters left, as TAP comments. */
function tailsOf(dir) {
  const files = [];
  const walk = (d) => {
    for (const entry of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      // Not the containers' own logs (a node's logs/ directory): the processes' are what explain a failure.
      if (entry.isDirectory()) {
        if (entry.name !== 'logs') walk(path.join(d, entry.name));
      } else files.push(path.join(d, entry.name));
    }
  };
  walk(dir);
  return files.sort().map((file) => {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES);
    return `# --- ${path.relative(dir, file)} (last ${lines.length} lines)\n${lines.map((l) => `#   ${l.slice(0, 400)}`).join('\n')}\n`;
  }).join('');
}

/**
 * Each failing test of a file's TAP output with the first lines of its error (a cluster's logs that a
 * test appends to its error are left out: the file's output above has them whole).
 */
function failureRecap(output) {
  const lines = output.split('\n');
  const recap = [];
  for (let i = 0; i < lines.length; i++) {
    const failing = /^\s*not ok \d+ - (.*)$/.exec(lines[i]);
    if (!failing) continue;
    recap.push(`#   not ok: ${failing[1]}`);
    const end = lines.findIndex((line, j) => j > i && /^\s*\.\.\.\s*$/.test(line));
    const block = lines.slice(i + 1, end === -1 ? i + 60 : end);
    const error = block.findIndex((line) => /^\s*error:/.test(line));
    if (error === -1) continue;
    for (const line of block.slice(error, error + RECAP_ERROR_LINES)) recap.push(`#     ${line.trim().slice(0, 300)}`);
  }
  return recap.length > 0 ? recap.join('\n') : '#   (no failing test named: see the file\'s output above)';
}

/** The lines of a failed file's process logs that say something went wrong (the last few), for the recap. */
function notableLogLines(logTails) {
  const notable = (logTails ?? '').split('\n').filter((line) => /error|fail|cannot|not removed|refused|warning|exited/i.test(line) && !/DeprecationWarning|trace-deprecation/.test(line));
  if (notable.length === 0) return '';
  return `\n#   in its processes' logs:\n${notable.slice(-RECAP_LOG_LINES).map((line) => `#     ${line.replace(/^#\s*/, '').slice(0, 300)}`).join('\n')}`;
}

function runE2eFile(file, limitMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Short: state dirs under it hold unix sockets, whose paths are limited to 108 bytes.
    const tmp = fs.mkdtempSync('/tmp/tt-');
    const logs = `${tmp}.logs`; // the clusters' process logs, kept by the harness as it takes them down
    const out = [];
    const child = spawn(process.execPath, [...NODE_TEST, file], { cwd: ROOT, detached: true, env: { ...process.env, TMPDIR: tmp, TIDE_E2E_LOGS: logs }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => out.push(chunk));
    let timedOut = false;
    const killGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
    }, limitMs);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      killGroup('SIGKILL'); // whatever the file started in its group and left running
      const left = await removeLeftovers(tmp, logs);
      const failed = timedOut || code !== 0;
      const logTails = failed ? tailsOf(logs) : '';
      fs.rmSync(logs, { recursive: true, force: true });
      resolve({ file, code: timedOut ? 1 : code ?? 1, signal, timedOut, ms: Date.now() - started, output: Buffer.concat(out).toString('utf8') + logTails, logTails, left });
    });
  });
}

async function runE2e(files, options) {
  // Longest first, so that parallel lanes end together: by this tree's last run, else by the times
  // kept in the repository (e2e/durations.json, seconds of a loaded run; a new file counts as long).
  const timesFile = path.join(ROOT, 'e2e', 'dist', '.durations.json');
  const kept = readJson(path.join(ROOT, 'e2e', 'durations.json'));
  const known = readJson(timesFile);
  for (const file of files) if (known[file] === undefined) known[file] = (kept[file] ?? 120) * 1000;
  // A file that says `@suite-alone` (a flood, a machine-wide fault) runs with no other beside it: first.
  const alone = new Set(files.filter((file) => fs.readFileSync(path.join(ROOT, file), 'utf8').slice(0, 4000).includes('@suite-alone')));
  const queue = [...files].sort((a, b) => Number(alone.has(b)) - Number(alone.has(a)) || (known[b] ?? 0) - (known[a] ?? 0));
  const results = [];
  let running = 0;
  let aloneRunning = false;
  const waiters = [];
  const changed = () => waiters.splice(0).forEach((wake) => wake());
  const lane = async () => {
    while (queue.length > 0) {
      const file = queue[0];
      if (aloneRunning || (alone.has(file) && running > 0)) {
        await new Promise((resolve) => waiters.push(resolve));
        continue;
      }
      queue.shift();
      running++;
      aloneRunning = alone.has(file);
      const result = await runE2eFile(file, options.fileMinutes * 60_000);
      running--;
      aloneRunning = false;
      changed();
      results.push(result);
      console.log(`# ---- ${file}: ${result.code === 0 ? 'passed' : 'FAILED'} in ${seconds(result.ms)}`);
      process.stdout.write(result.output);
      if (result.timedOut) console.log(`not ok - ${file} did not finish within ${options.fileMinutes} minutes: killed`);
      if (result.left.length > 0) console.log(`# ${file} left behind (removed unless said otherwise): ${result.left.join(', ')}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, files.length) }, lane));
  for (const r of results) known[r.file] = r.ms;
  fs.writeFileSync(timesFile, JSON.stringify(known, null, 1));
  console.log('# end-to-end files by duration:');
  for (const r of [...results].sort((a, b) => b.ms - a.ms)) console.log(`#   ${r.code === 0 ? 'ok    ' : 'FAILED'} ${seconds(r.ms).padStart(8)}  ${r.file}`);
  // Last, where a reader of only the end of a long log (a CI page) sees it: why each failed file failed.
  for (const r of results.filter((result) => result.code !== 0)) console.log(`# why ${r.file} failed:\n${failureRecap(r.output)}${notableLogLines(r.logTails)}`);
  return results.filter((r) => r.code !== 0).map((r) => r.file);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const chosen = options.files.length > 0 ? options.files : [...distFiles('.spec.js'), ...distFiles('.e2e.js')];
  const started = Date.now();
  const units = await runUnits(chosen.filter((f) => f.endsWith('.spec.js')));
  const failed = await runE2e(chosen.filter((f) => f.endsWith('.e2e.js')), options);
  if (units.status !== 0) console.log(`# why the unit specs failed:\n${units.recap}`);
  const unitStatus = units.status;
  console.log(`# suite: ${seconds(Date.now() - started)}; unit specs ${unitStatus === 0 ? 'passed' : 'FAILED'}; end-to-end files failed: ${failed.length === 0 ? 'none' : failed.join(', ')}`);
  process.exit(unitStatus === 0 && failed.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(`run-tests: ${error.message}`);
  process.exit(2);
});
