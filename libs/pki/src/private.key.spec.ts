import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { PrivateKey } from './private.key';

describe('PrivateKey', () => {
  it('never shows the key when printed, interpolated, serialised or inspected', async () => {
    const key = await PrivateKey.generate();
    const pem = key.toPem();
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    const body = pem.split('\n')[1];
    for (const shown of [String(key), `${key}`, JSON.stringify({ key }), inspect(key), inspect({ nested: { key } }, { depth: 5 })]) {
      assert.doesNotMatch(shown, /PRIVATE KEY/);
      assert.ok(!shown.includes(body), shown);
      assert.match(shown, /private key redacted/);
    }
  });

  it('reads PKCS#8, SEC1 and PKCS#1 keys and says which algorithm', () => {
    const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.equal(PrivateKey.fromPem(ec256, 'a').algorithm, 'ECDSA-P256');
    assert.equal(PrivateKey.fromPem(ec384, 'b').algorithm, 'ECDSA-P384');
    assert.equal(PrivateKey.fromPem(rsa, 'c').algorithm, 'RSA');
  });

  it('refuses weak or unknown keys naming the source, without echoing the input', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => PrivateKey.fromPem(weak, 'old.key'), /^PkiError: old\.key: unsupported key type rsa 1024 bits/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => PrivateKey.fromPem(ed, 'ed.key'), /ed\.key: unsupported key type ed25519/);
    const broken = '-----BEGIN PRIVATE KEY-----\nSECRETSECRETSECRET\n-----END PRIVATE KEY-----\n';
    assert.throws(() => PrivateKey.fromPem(broken, 'broken.key'), (error: Error) => {
      assert.match(error.message, /^broken\.key: not a PEM private key/);
      assert.ok(!error.message.includes('SECRET'));
      return true;
    });
  });
});
