import { type OnlineQueryRequest, OnlineQueryRequestSchema } from './online-query.ts';

/**
 * The fields a client's everyday online query carries, with a check compiled by hand for each: everything
 * else (meta, planner options, `now`, encoding options, unknown fields, …) goes through the zod schema.
 */
const FAST_FIELDS: Record<string, (value: unknown) => boolean> = {
  inputs: isPlainObject,
  outputs: (value) => value == null || isNonEmptyStringArray(value),
  staleness: (value) => value == null || isStringRecord(value),
  include_meta: (value) => value == null || typeof value === 'boolean',
  explain: (value) => value == null || typeof value === 'boolean',
  store_plan_stages: (value) => value == null || typeof value === 'boolean',
  query_name: (value) => value == null || typeof value === 'string',
  query_name_version: (value) => value == null || typeof value === 'string',
  correlation_id: (value) => value == null || typeof value === 'string',
  deployment_id: (value) => value == null || typeof value === 'string',
  branch_id: (value) => value == null || typeof value === 'string',
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isNonEmptyStringArray(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== 'string' || item.length === 0) return false;
  }
  return true;
}

function isStringRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

/**
 * Validates an online query body as {@link OnlineQueryRequestSchema} does, without running zod for the
 * request shapes clients send on every query: a body made only of the fields in `FAST_FIELDS`, each of
 * the right type, is accepted as it is (a `null` field reads as absent, as zod's `nullish` leaves it). Any
 * other body — an unknown field, a wrong type, a field outside the fast set — is parsed by the schema, so
 * accepted values and errors (`ZodError`, the 400 the edge maps it to) are the schema's.
 *
 * @throws ZodError as `OnlineQueryRequestSchema.parse` does, for the bodies it refuses.
 */
export function parseOnlineQueryRequest(body: unknown): OnlineQueryRequest {
  if (!isPlainObject(body) || !('inputs' in body)) return OnlineQueryRequestSchema.parse(body);
  for (const key in body) {
    const check = FAST_FIELDS[key];
    if (check === undefined || !Object.hasOwn(FAST_FIELDS, key) || !check(body[key]))
      return OnlineQueryRequestSchema.parse(body);
  }
  return body as OnlineQueryRequest;
}
