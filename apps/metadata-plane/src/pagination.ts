import { SlateError } from '@slate/graph';
import { z } from 'zod';

/** `?limit&cursor` for every list endpoint. */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional(),
});
export type PageQuery = z.output<typeof PageQuerySchema>;

/** One page of a list; `next_cursor` is null on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

/** Opaque cursor: base64url JSON of the last row's sort key. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** @throws SlateError('input', 'INVALID_CURSOR') */
export function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  } catch {
    // reported below
  }
  throw new SlateError('input', 'INVALID_CURSOR', 'the cursor is malformed; pass back next_cursor unchanged');
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only proves there is more.
 * @example
 * toPage(rows, 50, (r) => r.id, toWire)
 */
export function toPage<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => string,
  map: (row: R) => T,
): Page<T> {
  const visible = rows.slice(0, limit);
  const last = visible.at(-1);
  return {
    items: visible.map(map),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
