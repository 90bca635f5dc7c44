import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DockerfileError, Instruction, expandVariables, logicalLines, parseDockerfile } from './dockerfile.parser';

type Bare = Instruction extends infer I ? (I extends Instruction ? Omit<I, 'text' | 'line'> : never) : never;

/** Parses `FROM base` + the given lines and returns the instructions after FROM, without text and line. */
function parseAfterFrom(body: string): Bare[] {
  return parseDockerfile(`FROM base\n${body}`).slice(1).map(({ text: _t, line: _l, ...rest }) => rest as Bare);
}

describe('parseDockerfile', () => {
  const cases: { name: string; body: string; expected: Bare[] }[] = [
    { name: 'RUN shell form runs through /bin/sh -c', body: 'RUN echo hi && ls', expected: [{ kind: 'RUN', argv: ['/bin/sh', '-c', 'echo hi && ls'] }] },
    { name: 'RUN JSON form is the argv', body: 'RUN ["echo", "a b"]', expected: [{ kind: 'RUN', argv: ['echo', 'a b'] }] },
    { name: 'malformed JSON falls back to the shell form', body: 'CMD [oops', expected: [{ kind: 'CMD', argv: ['/bin/sh', '-c', '[oops'] }] },
    { name: 'ENTRYPOINT JSON', body: 'ENTRYPOINT ["node", "server.js"]', expected: [{ kind: 'ENTRYPOINT', argv: ['node', 'server.js'] }] },
    {
      name: 'line continuations join, comment lines inside them are dropped',
      body: 'RUN echo a \\\n# a comment\n  && echo b',
      expected: [{ kind: 'RUN', argv: ['/bin/sh', '-c', 'echo a   && echo b'] }],
    },
    { name: 'ENV pairs with quotes', body: 'ENV A=1 B="two words" C=x\\ y', expected: [{ kind: 'ENV', pairs: [['A', '1'], ['B', 'two words'], ['C', 'x y']] }] },
    { name: 'ENV legacy form', body: 'ENV GREETING hello world', expected: [{ kind: 'ENV', pairs: [['GREETING', 'hello world']] }] },
    { name: 'COPY with --chown, several sources', body: 'COPY --chown=1000:1000 a b /dst/', expected: [{ kind: 'COPY', sources: ['a', 'b'], dest: '/dst/', chown: '1000:1000' }] },
    { name: 'ADD JSON form', body: 'ADD ["my file", "/x"]', expected: [{ kind: 'ADD', sources: ['my file'], dest: '/x' }] },
    { name: 'EXPOSE defaults to tcp', body: 'EXPOSE 8080 53/UDP', expected: [{ kind: 'EXPOSE', ports: ['8080/tcp', '53/udp'] }] },
    { name: 'keywords are case-insensitive', body: 'workdir /app\nuser 1000:1000', expected: [{ kind: 'WORKDIR', path: '/app' }, { kind: 'USER', user: '1000:1000' }] },
  ];
  for (const { name, body, expected } of cases) {
    it(name, () => assert.deepEqual(parseAfterFrom(body), expected));
  }

  it('reads FROM with AS and keeps each instruction line number and text', () => {
    const [from, run] = parseDockerfile('# syntax comment\n\nFROM node AS app\nRUN a \\\n  b');
    assert.deepEqual(from, { kind: 'FROM', line: 3, text: 'FROM node AS app', image: 'node', stage: 'app' });
    assert.equal(run.line, 4);
    assert.equal(run.text, 'RUN a   b');
  });

  const errors: { name: string; text: string; message: RegExp }[] = [
    { name: 'an unknown instruction', text: 'FROM a\n\nHEALTHCHECK NONE', message: /^Dockerfile line 3: unknown instruction "HEALTHCHECK" \(supported: FROM, ARG, COPY/ },
    { name: 'no FROM first', text: 'RUN true', message: /^Dockerfile line 1: the first instruction must be FROM/ },
    { name: 'anything but ARG before FROM', text: 'ARG V=1\nENV A=b\nFROM a', message: /^Dockerfile line 2: the first instruction must be FROM \(only ARG/ },
    { name: 'a stage name used twice', text: 'FROM a AS x\nFROM b AS X', message: /^Dockerfile line 2: stage name "x" is used twice/ },
    { name: 'COPY without destination', text: 'FROM a\nCOPY x', message: /^Dockerfile line 2: COPY needs at least one source and a destination/ },
    { name: 'ADD --from', text: 'FROM a\nADD --from=b x y', message: /^Dockerfile line 2: ADD --from is not supported \(only --chown\)/ },
    { name: 'an ARG that is no name', text: 'FROM a\nARG 1x=2', message: /^Dockerfile line 2: ARG: "1x" is not a variable name/ },
    { name: 'a bad port', text: 'FROM a\nEXPOSE http', message: /^Dockerfile line 2: EXPOSE: "http" is not a port/ },
    { name: 'an unterminated quote', text: 'FROM a\nENV A="x', message: /^Dockerfile line 2: unterminated " quote/ },
    { name: 'a JSON form with a number', text: 'FROM a\nCMD ["a", 1]', message: /^Dockerfile line 2: the JSON form must be an array of strings/ },
    { name: 'an empty file', text: '# nothing\n', message: /^Dockerfile line 1: the Dockerfile has no instructions/ },
    { name: 'an instruction without arguments', text: 'FROM a\nWORKDIR', message: /^Dockerfile line 2: WORKDIR needs arguments/ },
  ];
  for (const { name, text, message } of errors) {
    it(`refuses ${name}`, () => assert.throws(() => parseDockerfile(text), (e: unknown) => e instanceof DockerfileError && message.test(e.message)));
  }

  it('reads stages, global and stage ARGs, COPY --from, LABEL and VOLUME', () => {
    const parsed = parseDockerfile('ARG BASE=busybox\nFROM ${BASE} AS build\nARG V\nFROM scratch\nCOPY --from=build /a /b\nLABEL org.x="a b" k=v\nVOLUME ["/data", "/logs"]\nVOLUME /cache')
      .map(({ text: _t, line: _l, ...rest }) => rest);
    assert.deepEqual(parsed, [
      { kind: 'ARG', args: [{ name: 'BASE', value: 'busybox' }] },
      { kind: 'FROM', image: '${BASE}', stage: 'build' },
      { kind: 'ARG', args: [{ name: 'V' }] },
      { kind: 'FROM', image: 'scratch' },
      { kind: 'COPY', sources: ['/a'], dest: '/b', from: 'build' },
      { kind: 'LABEL', pairs: [['org.x', 'a b'], ['k', 'v']] },
      { kind: 'VOLUME', paths: ['/data', '/logs'] },
      { kind: 'VOLUME', paths: ['/cache'] },
    ]);
  });

  it('keeps the first line of a continued instruction', () => {
    assert.deepEqual(logicalLines('FROM a\nRUN x \\\n\n y'), [{ line: 1, text: 'FROM a' }, { line: 2, text: 'RUN x  y' }]);
  });

  it('expands $VAR and ${VAR}, unknown ones to empty, \\$ stays a dollar', () => {
    assert.equal(expandVariables('${HOME}/x $USER-$NOPE \\$HOME', { HOME: '/root', USER: 'me' }), '/root/x me- $HOME');
  });
});
