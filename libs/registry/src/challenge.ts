/**
 * The WWW-Authenticate challenge of a 401 (RFC 7235), as registries send it:
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"` or
 * `Basic realm="..."`. Quoted values may contain commas and escaped quotes.
 */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pair = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = match[2];
  let found: RegExpExecArray | null;
  while (pair.lastIndex < rest.length && (found = pair.exec(rest)) !== null) {
    params[found[1].toLowerCase()] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}
