import fc from 'fast-check';
import { hostileJson } from './hostile-values.ts';

type Schema = Readonly<Record<string, unknown>>;

/**
 * Values shaped by a JSON Schema (as the metadata plane's OpenAPI document gives them), so that requests get
 * past the first validation step and reach handlers and the database; `ids` seed strings with names that
 * exist. Anything the schema does not pin down is a hostile value.
 */
export function fromSchema(schema: unknown, ids: readonly string[], depth = 0): fc.Arbitrary<unknown> {
  const s = (schema ?? {}) as Schema;
  if (depth > 6) return fc.constant(null);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  if ('const' in s) return fc.constant(s.const);
  const alternatives = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0)
    return fc.oneof(...alternatives.map((alt) => fromSchema(alt, ids, depth + 1)));
  const type = Array.isArray(s.type) ? (s.type as string[])[0] : s.type;
  switch (type) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = new Set((s.required as string[] | undefined) ?? []);
      const entries = Object.entries(properties).map(
        ([key, sub]) => [key, fromSchema(sub, ids, depth + 1)] as const,
      );
      if (entries.length === 0)
        return fc.dictionary(fc.string({ maxLength: 8 }), hostileJson, { maxKeys: 3 });
      return fc.record(Object.fromEntries(entries), {
        requiredKeys: [...required].filter((key) => key in properties),
      });
    }
    case 'array':
      return fc.array(fromSchema(s.items, ids, depth + 1), { maxLength: 4 });
    case 'string':
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      if (s.format === 'uri') return fc.constantFrom('http://127.0.0.1:1/x', 'https://example.test/');
      return fc.oneof(
        fc.constantFrom(...ids),
        fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/),
        fc.string({ maxLength: 12 }),
      );
    case 'integer':
      return fc.integer({ min: -5, max: 1_000 });
    case 'number':
      return fc.double({ min: -5, max: 1_000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return hostileJson;
  }
}

/**
 * A schema-shaped value with one of its leaves (or itself) swapped for a hostile value of any type: type
 * confusion, NUL, huge strings and numbers, nested junk.
 */
export function mutated(value: unknown): fc.Arbitrary<unknown> {
  const paths: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (path.length > 6) return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) walk(node[i], [...path, i]);
    } else if (node && typeof node === 'object')
      for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  };
  walk(value, []);
  return fc.tuple(fc.constantFrom(...paths), hostileJson).map(([path, replacement]) => {
    if (path.length === 0) return replacement;
    const copy = structuredClone(value) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    node[path.at(-1)!] = replacement;
    return copy;
  });
}
