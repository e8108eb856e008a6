import { z } from 'zod';

/** What marks a text cut short by `truncatedText`. */
export const TRUNCATION_MARK = '… [truncated]';

/**
 * A zod string that keeps at most `max` characters, cutting longer ones (with `TRUNCATION_MARK`) instead
 * of refusing them: for reports whose loss costs more than a shortened message (a job's error text).
 * The request body limit still bounds what arrives.
 *
 * @example
 * truncatedText(10).parse('a'.repeat(20)).length; // 10
 */
export function truncatedText(max: number) {
  return z.string().transform((text) => truncate(text, max));
}

/** `text` cut to at most `max` characters (ending with `TRUNCATION_MARK` when cut). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const keep = Math.max(0, max - TRUNCATION_MARK.length);
  return `${text.slice(0, keep)}${TRUNCATION_MARK}`.slice(0, max);
}
