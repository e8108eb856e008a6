import { SlateError } from '@slate/graph';
import {
  type Resolver,
  type ResolverContext,
  type ResolverRefs,
  resolverInternals,
  type ValuesOf,
} from './resolver.ts';
import { type StreamMessage, type StreamOutputs, type StreamResolver, streamInternals } from './stream.ts';

/**
 * Helpers for a feature repository's own unit tests: call a resolver's function as the engine would, with
 * a context you choose, and get its typed outputs back — no platform, no worker, no store.
 *
 * @example
 * import { runResolver } from '@slate/sdk';
 * import { email_domain } from './resolvers.ts';
 *
 * const out = await runResolver(email_domain, { email: 'ada@example.com' });
 * assert.equal(out.domain, 'example.com');
 */

/** What a test may set of a resolver's context; everything else gets a neutral default. */
export interface TestContextOptions {
  /** The query's time (default: now). */
  readonly now?: Date;
  /** Default `test`. */
  readonly environment?: string;
  readonly deploymentId?: string;
  readonly tags?: readonly string[];
  readonly queryContext?: Readonly<Record<string, unknown>>;
  /** The environment's secrets as the resolver reads them with `context.secret(name)`. */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** A resolver context for tests: what `fn` receives as its second argument. */
export function testContext(options: TestContextOptions = {}): ResolverContext {
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  return Object.freeze({
    now: options.now ?? new Date(),
    environment: options.environment ?? 'test',
    deploymentId: options.deploymentId ?? 'test',
    tags: Object.freeze([...(options.tags ?? [])]),
    queryContext: Object.freeze({ ...(options.queryContext ?? {}) }),
    secret: (name: string) => secrets.get(name),
  });
}

/**
 * Runs a resolver (online, offline or batch) for one row of inputs and returns its outputs. Fails with
 * `VALIDATION_FAILED` when the function leaves out a declared output, as a query reports it.
 */
export async function runResolver<I extends ResolverRefs, O extends ResolverRefs>(
  resolver: Resolver<I, O>,
  inputs: ValuesOf<I>,
  context: TestContextOptions = {},
): Promise<ValuesOf<O>> {
  const [row] = await runResolverRows(resolver, [inputs], context);
  return row as ValuesOf<O>;
}

/**
 * Runs a resolver for several rows at once: a batch resolver gets them in one call (and must return one
 * output per row), any other resolver is called once per row, in order.
 */
export async function runResolverRows<I extends ResolverRefs, O extends ResolverRefs>(
  resolver: Resolver<I, O>,
  rows: readonly ValuesOf<I>[],
  context: TestContextOptions = {},
): Promise<ValuesOf<O>[]> {
  const internals = resolverInternals(resolver as unknown as Resolver);
  const ctx = testContext(context);
  const name = internals.name ?? 'resolver';
  let outputs: Record<string, unknown>[];
  if (internals.batch) {
    const batchFn = internals.fn as (
      rows: Record<string, unknown>[],
      context: ResolverContext,
    ) => Record<string, unknown>[] | Promise<Record<string, unknown>[]>;
    outputs = await batchFn(rows as Record<string, unknown>[], ctx);
    if (!Array.isArray(outputs) || outputs.length !== rows.length)
      throw new SlateError(
        'input',
        'VALIDATION_FAILED',
        `${name} returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} rows for ${rows.length}`,
      );
  } else {
    const rowFn = internals.fn as (
      inputs: Record<string, unknown>,
      context: ResolverContext,
    ) => Record<string, unknown> | Promise<Record<string, unknown>>;
    outputs = [];
    for (const row of rows) outputs.push(await rowFn(row as Record<string, unknown>, ctx));
  }
  const declared = Object.keys(internals.outputs);
  for (const [index, output] of outputs.entries()) {
    const missing = declared.filter(
      (param) => output === null || typeof output !== 'object' || output[param] === undefined,
    );
    if (missing.length > 0)
      throw new SlateError(
        'input',
        'VALIDATION_FAILED',
        `${name} returned no ${missing.map((param) => `'${param}'`).join(', ')} (row ${index})`,
      );
  }
  return outputs as ValuesOf<O>[];
}

/**
 * Parses one message with a streaming resolver's `parse`, as the stream consumer does: the feature values
 * it yields, or `undefined` when it skips the message. `key` defaults to '' and `publishedAt` to now.
 */
export function parseStreamMessage<O extends StreamOutputs>(
  resolver: StreamResolver<O>,
  message: { readonly value: string; readonly key?: string; readonly publishedAt?: Date },
): { [K in keyof O]: O[K]['__value'] } | undefined {
  const full: StreamMessage = {
    value: message.value,
    key: message.key ?? '',
    publishedAt: message.publishedAt ?? new Date(),
  };
  return streamInternals(resolver as unknown as StreamResolver).parse(full) as
    | { [K in keyof O]: O[K]['__value'] }
    | undefined;
}
