import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { OptionSpec, intOption, isSet, parseCommandLine } from './args';

const COMMANDS: Record<string, OptionSpec[]> = {
  apply: [{ long: 'filename', short: 'f' }],
  logs: [{ long: 'follow', short: 'f', boolean: true }, { long: 'namespace', short: 'n' }],
  get: [{ long: 'output', short: 'o' }, { long: 'namespace', short: 'n' }, { long: 'all-namespaces', short: 'A', boolean: true }],
  up: [{ long: 'nodes' }, { long: 'state-dir' }, { long: 'base-port' }],
  exec: [{ long: 'stdin', short: 'i', boolean: true }, { long: 'tty', short: 't', boolean: true }, { long: 'namespace', short: 'n' }],
};
const parse = (argv: string[]) => parseCommandLine(argv, (command) => COMMANDS[command]);

describe('tsctl arguments', () => {
  const table: [string[], { command?: string; args: string[]; options: Record<string, string> }][] = [
    [['apply', '-f', 'x.yaml'], { command: 'apply', args: [], options: { filename: 'x.yaml' } }],
    [['apply', '-f', '-'], { command: 'apply', args: [], options: { filename: '-' } }],
    [['--server', 'http://h:1', 'apply', '-f=a.yaml'], { command: 'apply', args: [], options: { server: 'http://h:1', filename: 'a.yaml' } }],
    [['apply', '-f', 'a.yaml', '--server=http://h:2'], { command: 'apply', args: [], options: { filename: 'a.yaml', server: 'http://h:2' } }],
    [['logs', 'web-1', '-f'], { command: 'logs', args: ['web-1'], options: { follow: 'true' } }],
    [['logs', '-f', 'web-1', '-n', 'shop'], { command: 'logs', args: ['web-1'], options: { follow: 'true', namespace: 'shop' } }],
    [['get', 'replicas', '-o', 'wide', '-A'], { command: 'get', args: ['replicas'], options: { output: 'wide', 'all-namespaces': 'true' } }],
    [['get', 'services', '-ojson'], { command: 'get', args: ['services'], options: { output: 'json' } }],
    [['get', 'services', '--output=yaml', '--namespace', 'x'], { command: 'get', args: ['services'], options: { output: 'yaml', namespace: 'x' } }],
    [['up', '--nodes', '3', '--state-dir', '/tmp/t', '--base-port', '27070'], { command: 'up', args: [], options: { nodes: '3', 'state-dir': '/tmp/t', 'base-port': '27070' } }],
    [['-h'], { command: undefined, args: [], options: { help: 'true' } }],
    [['get', '--', '-weird'], { command: 'get', args: ['-weird'], options: {} }],
    [['exec', '-it', 'web-1', '--', 'sh', '-c', 'ls -l'], { command: 'exec', args: ['web-1', 'sh', '-c', 'ls -l'], options: { stdin: 'true', tty: 'true' } }],
    [['exec', '-ti', '-n', 'shop', 'web-1', '--', 'ls', '-l'], { command: 'exec', args: ['web-1', 'ls', '-l'], options: { stdin: 'true', tty: 'true', namespace: 'shop' } }],
  ];
  for (const [argv, expected] of table) {
    it(argv.join(' '), () => {
      const parsed = parse(argv);
      assert.deepEqual({ command: parsed.command, args: parsed.args, options: Object.fromEntries(parsed.options) }, expected);
    });
  }

  const errors: [string[], RegExp][] = [
    [['apply', '-f'], /-f needs a value/],
    [['apply', '-f', '--server', 'x'], /-f needs a value/],
    [['get', 'services', '--bogus'], /unknown option --bogus for "get" \(options: --server, --token, --ca-file, -h\/--help, -o\/--output/],
    [['logs', 'x', '-x'], /unknown option -x for "logs"/],
    [['--nodes', '2', 'up'], /unknown option --nodes \(options: --server, --token, --ca-file, -h\/--help\)/],
    [['logs', 'x', '-fyes'], /-f takes no value; -y is not an option here/],
    [['exec', '-in', 'x'], /-in: -i takes no value; -n takes a value, so it cannot be combined/],
  ];
  for (const [argv, message] of errors) it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parse(argv), message));

  it('reads integer options within bounds', () => {
    const options = new Map([['nodes', '3'], ['bad', '2.5'], ['neg', '-1']]);
    assert.equal(intOption(options, 'nodes', 1, 1, 50), 3);
    assert.equal(intOption(options, 'missing', 7), 7);
    assert.throws(() => intOption(options, 'bad', 1), /--bad: expected an integer ≥ 0, got "2.5"/);
    assert.throws(() => intOption(options, 'neg', 1, 1, 50), /--neg: expected an integer from 1 to 50, got "-1"/);
  });

  it('reads boolean options', () => {
    assert.deepEqual(['true', 'false', '0', undefined].map((v) => isSet(new Map(v === undefined ? [] : [['x', v]]), 'x')), [true, false, false, false]);
  });
});
