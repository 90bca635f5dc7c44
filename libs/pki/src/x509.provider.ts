// @peculiar/x509 resolves its ASN.1 services through tsyringe, which needs the Reflect metadata API
// before the library is first loaded: this module is the only importer of the library, so the order
// holds wherever @tide/pki is used.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// Node's own WebCrypto (OpenSSL underneath), not a JavaScript implementation.
x509.cryptoProvider.set(webcrypto);

export { x509 };
export const subtle = webcrypto.subtle;
