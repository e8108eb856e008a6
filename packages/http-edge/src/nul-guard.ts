import { SlateError } from '@slate/graph';

/** How deep `findNul` looks into a value before refusing it as too deeply nested (a feature graph's expression trees stay far below; recursive validators overflow far above). */
export const MAX_INPUT_DEPTH = 512;

/**
 * Where the first U+0000 sits in a parsed request value (strings, object keys, arrays, nested), as a path
 * like `body.inputs[0]`, or `undefined` when there is none. PostgreSQL's text types cannot hold NUL, so a
 * string carrying one would fail deep in a store instead of at validation. Binary bodies (`Uint8Array`) are
 * not text and are not looked into.
 *
 * @throws SlateError `input`/`INPUT_TOO_DEEP` past `MAX_INPUT_DEPTH` levels of nesting.
 * @example
 * findNul({ client_id: 'a\u0000b' }, 'body'); // 'body.client_id'
 */
export function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return undefined;
  if (depth >= MAX_INPUT_DEPTH)
    throw new SlateError(
      'input',
      'INPUT_TOO_DEEP',
      `${path} is nested more than ${MAX_INPUT_DEPTH} levels deep`,
    );
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (key.includes('\u0000')) return `${path} (a key)`;
    const found = findNul((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Refuses a request whose path parameters, query, cookies or parsed body hold a NUL character, with 400
 * `NUL_CHARACTER` naming where. Meant for a `preValidation` hook, which runs on every route after the body
 * is parsed and before authentication reads a database.
 *
 * @throws SlateError `input`/`NUL_CHARACTER`, or `input`/`INPUT_TOO_DEEP` (see `findNul`).
 * @example
 * app.addHook('preValidation', async (request) => refuseNul(request));
 */
export function refuseNul(request: {
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
  readonly cookies?: unknown;
}): void {
  const found =
    findNul(request.params, 'path') ??
    findNul(request.query, 'query') ??
    findNul(request.cookies, 'cookie') ??
    findNul(request.body, 'body');
  if (found)
    throw new SlateError(
      'input',
      'NUL_CHARACTER',
      `${found} contains a NUL character (U+0000), which no text field accepts`,
      { path: found },
    );
}
