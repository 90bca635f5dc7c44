/** The pooled init's rehearsal: it changes nothing of the process and leaves its stage as it was. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rehearseClaim } from './rehearsal';

const snapshot = () => ({
  mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8'),
  hostname: os.hostname(),
  status: fs.readFileSync('/proc/thread-self/status', 'utf8').split('\n').filter((l) => /^(Uid|Gid|Groups|Cap\w+|NoNewPrivs):/.test(l)),
  cwd: process.cwd(),
});

describe('rehearseClaim', () => {
  it('runs the claim against an idle Sys: no mount, id, capability, hostname or cwd changes; the stage is left as found', () => {
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'tide-rehearsal-'));
    try {
      fs.mkdirSync(path.join(stage, 'proc'));
      const before = snapshot();
      rehearseClaim({ dir: stage, mounted: new Set(['proc']) });
      rehearseClaim({ dir: stage, mounted: new Set(['proc']) }); // again: nothing left in the way
      assert.deepEqual(snapshot(), before);
      assert.deepEqual(fs.readdirSync(stage), ['proc']);
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
});
