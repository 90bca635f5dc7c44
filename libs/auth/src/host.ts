import type { Parsed } from './decision';

/**
 * The API answers only requests addressed to one of its own names (DNS rebinding: a web page whose
 * name resolves to 127.0.0.1 sends `Host: evil.example`). `names` are the server certificate's DNS
 * names and addresses; the port is ignored, case and a trailing dot too.
 */
export function checkHost(header: string | undefined, names: readonly string[]): Parsed<string> {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing Host header' };
  const host = hostOf(header.trim());
  if (host === undefined) return { ok: false, reason: `malformed Host header "${header}"` };
  const allowed = names.map((name) => name.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1'));
  if (!allowed.includes(host)) return { ok: false, reason: `Host "${host}" is not a name of this server (${allowed.join(', ')})` };
  return { ok: true, value: host };
}

function hostOf(header: string): string | undefined {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(header);
  if (bracketed) return bracketed[1].toLowerCase();
  const plain = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(header);
  return plain ? plain[1].toLowerCase().replace(/\.$/, '') : undefined;
}
