import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigError, parseFlags } from '../config';

describe('registry flags', () => {
  it('has no registry by default, an embedded one with --registry-listen, an existing one with --registry', () => {
    assert.deepEqual(parseFlags([]).registry, {});
    assert.deepEqual(parseFlags(['--registry-listen', '127.0.0.1:7074']).registry, { listen: { host: '127.0.0.1', port: 7074 } });
    assert.deepEqual(parseFlags(['--registry', 'https://reg.example:5000/']).registry, { external: { address: 'reg.example:5000' } });
    assert.deepEqual(parseFlags(['--registry', 'reg.example']).registry, { external: { address: 'reg.example' } });
  });

  it('refuses both at once, a CA without --registry, a missing CA file and a URL that is not HOST:PORT', () => {
    const refused: [string[], RegExp][] = [
      [['--registry-listen', '127.0.0.1:7074', '--registry', 'reg:5000'], /give one of them/],
      [['--registry-ca', '/etc/hostname'], /--registry-ca goes with --registry/],
      [['--registry', 'reg:5000', '--registry-ca', '/nonexistent/ca.crt'], /--registry-ca: \/nonexistent\/ca.crt does not exist/],
      [['--registry', 'http://reg:5000'], /--registry: expected HOST:PORT or https:\/\/HOST:PORT/],
      [['--registry', 'reg:5000/path'], /--registry: expected HOST:PORT/],
      [['--registry-listen', 'nowhere'], /--registry-listen: expected HOST:PORT/],
    ];
    for (const [argv, message] of refused) assert.throws(() => parseFlags(argv), (e: Error) => e instanceof ConfigError && message.test(e.message), argv.join(' '));
  });
});
