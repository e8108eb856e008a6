import { SlateError } from '@slate/graph';

const MAX_KEY_BYTES = 1_024;
// Control characters break file names and log lines; a backslash is a separator on Windows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/**
 * Throws `SlateError('input', 'INVALID_OBJECT_KEY')` unless `key` is a relative `/`-separated path: not
 * empty, at most 1,024 UTF-8 bytes, no leading or trailing `/`, no empty, `.` or `..` segments, no
 * backslash or control characters. Every backend applies the same rule, so a key valid on one is valid on
 * all, and no key can escape its bucket or scope.
 */
export function checkObjectKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) {
    throw new SlateError(
      'input',
      'INVALID_OBJECT_KEY',
      `invalid object key ${JSON.stringify(key)}: ${problem}`,
      {
        key,
      },
    );
  }
}

/**
 * Throws `SlateError('input', 'INVALID_OBJECT_PREFIX')` unless `prefix` is `''` or the start of a valid
 * key: its complete segments (those followed by `/`) follow the key rules; the last, partial segment may be
 * empty or any name prefix.
 */
export function checkObjectPrefix(prefix: string): void {
  let problem: string | undefined;
  if (typeof prefix !== 'string') problem = 'it is not a string';
  else if (prefix.length > 0) {
    const slash = prefix.lastIndexOf('/');
    problem = FORBIDDEN.test(prefix) ? 'it contains a backslash or a control character' : undefined;
    if (!problem && slash >= 0) problem = keyProblem(prefix.slice(0, slash));
  }
  if (problem) {
    throw new SlateError(
      'input',
      'INVALID_OBJECT_PREFIX',
      `invalid object prefix ${JSON.stringify(prefix)}: ${problem}`,
      { prefix },
    );
  }
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  if (FORBIDDEN.test(key)) return 'it contains a backslash or a control character';
  if (key.startsWith('/')) return 'it is absolute';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
  }
  return undefined;
}
