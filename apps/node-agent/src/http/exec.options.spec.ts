import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execOptionsOf } from './exec.upgrade';

const parse = (query: string) => execOptionsOf(new URLSearchParams(query));

describe('execOptionsOf', () => {
  it('reads environment, working directory and user beside the command', () => {
    assert.deepEqual(parse('command=sh&command=-c&command=env&env=A%3D1&env=B%3Dtwo%3Dparts&env=EMPTY&workingDir=%2Ftmp&user=65534%3A65534'), {
      options: { argv: ['sh', '-c', 'env'], tty: false, env: { A: '1', B: 'two=parts', EMPTY: '' }, workingDir: '/tmp', user: '65534:65534' },
      stdin: false,
    });
  });

  it('leaves them out when not given, so the container\'s own apply', () => {
    assert.deepEqual(parse('command=true'), { options: { argv: ['true'], tty: false }, stdin: false });
  });

  it('refuses a bad variable name, a relative directory and a user that is not a name or number, naming the parameter', () => {
    assert.match(String(parse('command=true&env=1A%3Dx')), /^env: "1A=x" is not NAME=VALUE/);
    assert.match(String(parse('command=true&workingDir=tmp')), /^workingDir: "tmp" must be an absolute path/);
    assert.match(String(parse('command=true&user=root%3B%20rm')), /^user: "root; rm" must be NAME, UID/);
  });
});
