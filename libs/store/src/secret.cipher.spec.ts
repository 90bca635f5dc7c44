import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SEALED_PREFIX, SecretCipher } from './secret.cipher';

const key = (name: string) => ({ name, secret: randomBytes(32) });
const KEY = '/tide/v1/secrets/shop/db';
const JSON_TEXT = '{"data":{"password":"czNjcmV0LXZhbHVl"}}';

describe('SecretCipher', () => {
  it('seals with the first key, under a prefix naming it, and opens what it sealed', () => {
    const cipher = new SecretCipher([key('k2'), key('k1')]);
    const sealed = cipher.seal(KEY, JSON_TEXT);
    assert.ok(sealed.toString('latin1').startsWith(`${SEALED_PREFIX}k2:`));
    assert.ok(!sealed.includes(Buffer.from('czNjcmV0LXZhbHVl')), 'no plaintext in the sealed bytes');
    assert.equal(cipher.open(KEY, sealed), JSON_TEXT);
    assert.notDeepEqual(cipher.seal(KEY, JSON_TEXT), sealed, 'a fresh nonce per write');
  });

  it('after a rotation, the old key still opens what it sealed and the new one seals', () => {
    const old = key('k1');
    const sealedByOld = new SecretCipher([old]).seal(KEY, JSON_TEXT);
    const rotated = new SecretCipher([key('k2'), old]);
    assert.equal(rotated.open(KEY, sealedByOld), JSON_TEXT);
    assert.equal(rotated.sealedWith(sealedByOld), 'k1');
    assert.equal(rotated.sealedWith(rotated.seal(KEY, JSON_TEXT)), 'k2');
  });

  it('refuses a value moved to another key, altered, sealed by an unknown key, or stored in clear', () => {
    const cipher = new SecretCipher([key('k1')]);
    const sealed = cipher.seal(KEY, JSON_TEXT);
    assert.throws(() => cipher.open('/tide/v1/secrets/shop/other', sealed), /does not open with key "k1" \(altered, or moved/);
    const altered = Buffer.from(sealed);
    altered[altered.length - 20] ^= 1;
    assert.throws(() => cipher.open(KEY, altered), /does not open/);
    assert.throws(() => new SecretCipher([key('k9')]).open(KEY, sealed), /sealed with key "k1", which the control plane's key file does not hold/);
    assert.throws(() => cipher.open(KEY, Buffer.from(JSON_TEXT)), /not sealed/);
  });

  it('refuses a ring without keys or with a key of the wrong size', () => {
    assert.throws(() => new SecretCipher([]), /at least one/);
    assert.throws(() => new SecretCipher([{ name: 'short', secret: randomBytes(16) }]), /needs 32/);
  });
});
