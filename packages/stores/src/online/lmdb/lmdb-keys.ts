import { createHash } from 'node:crypto';

/**
 * LMDB refuses keys over 1,978 bytes. Each segment of a key is kept under a budget (the three budgets sum
 * to well under that, separators included); a longer segment is replaced by its SHA-256, marked so that it
 * can never equal a segment stored as is.
 */
const ENVIRONMENT_BUDGET = 256;
const FEATURE_BUDGET = 384;
const PKEY_BUDGET = 1_024;

/**
 * One key segment: `=` then the text (for environment and feature, `%` and `:` percent-encoded so the
 * separators stay unambiguous), or `#` then the hex SHA-256 of the text when that would exceed `budget`
 * UTF-8 bytes. The marker keeps a hashed segment apart from a real one that happens to look like a hash.
 */
function segment(text: string, budget: number, percentEncode: boolean): string {
  const body = percentEncode ? text.replaceAll('%', '%25').replaceAll(':', '%3A') : text;
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so most keys skip the byte count.
  if (body.length * 3 <= budget || Buffer.byteLength(body) <= budget) return `=${body}`;
  return `#${createHash('sha256').update(text).digest('hex')}`;
}

/** The key prefix every value of one feature in one environment shares: `=env:=feature:`. */
export function featurePrefix(environment: string, feature: string): string {
  return `${segment(environment, ENVIRONMENT_BUDGET, true)}:${segment(feature, FEATURE_BUDGET, true)}:`;
}

/**
 * The key of one value: its feature's prefix, then the primary key (the last segment, so it needs no
 * escaping).
 */
export function valueKey(prefix: string, pkey: string): string {
  return prefix + segment(pkey, PKEY_BUDGET, false);
}

/**
 * The exclusive end of the range holding every key that starts with `prefix` (which ends with `:`):
 * the same text with its last character replaced by the next one, `;`. Keys compare as UTF-8 bytes.
 */
export function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)};`;
}
