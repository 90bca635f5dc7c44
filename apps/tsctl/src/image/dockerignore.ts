/**
 * .dockerignore as Docker reads it: one pattern per line, `#` comments, Go filepath.Match syntax
 * (`*`, `?`, `[a-z]`) plus `**` for any number of directories, `!` to re-include; the last pattern
 * that matches a path decides, and a pattern that matches a directory matches everything under it.
 */

export interface IgnoreRule {
  pattern: string;
  negated: boolean;
  regex: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    const pattern = cleanPath(line);
    if (pattern) rules.push({ pattern, negated, regex: patternToRegex(pattern) });
  }
  return rules;
}

/** Whether a path (relative to the context, "/" separated) is left out of the context. */
export function isIgnored(rules: IgnoreRule[], relativePath: string): boolean {
  const candidates = parentsAndSelf(relativePath);
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.negated;
  }
  return ignored;
}

/** Whether some `!` rule could re-include a path under this directory (then it must still be walked). */
export function mayReincludeUnder(rules: IgnoreRule[], directory: string): boolean {
  return rules.some((rule) => rule.negated && (rule.pattern.startsWith(`${directory}/`) || rule.pattern.includes('*') || rule.pattern.includes('?')));
}

function parentsAndSelf(relativePath: string): string[] {
  const parts = relativePath.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** "./a//b/" → "a/b"; a leading "/" means the context's root, as Docker cleans it. */
function cleanPath(pattern: string): string {
  return pattern.split('/').filter((part) => part !== '' && part !== '.').join('/');
}

function patternToRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // "**/" matches zero or more directories; a trailing "**" matches everything below.
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${pattern.slice(i + 1, end).replace(/^\^/, '^').replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) source += escape(pattern[++i]);
    else source += escape(c);
  }
  return new RegExp(`^${source}$`);
}

function escape(c: string): string {
  return /[.+^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
