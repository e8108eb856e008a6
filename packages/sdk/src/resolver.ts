import { type Duration, parseDuration, SlateError, type SourceLocation } from '@slate/graph';
import {
  type AnyFeatureClass,
  type FeatureRef,
  featureClassInternals,
  type HasManyRef,
  type RowOf,
} from './feature-class.ts';
import { callerLocation } from './source-location.ts';

const resolverBrand = Symbol.for('slate.resolver');

/** What a resolver may read besides its inputs. Immutable for the duration of a query. */
export interface ResolverContext {
  /** The query's time (`now` in the request, else when the query started). */
  readonly now: Date;
  readonly environment: string;
  readonly deploymentId: string;
  readonly tags: readonly string[];
  /** The request's `query_context`: caller-supplied values. */
  readonly queryContext: Readonly<Record<string, unknown>>;
  /** A secret of the environment, or `undefined` when it is not set. */
  secret(name: string): string | undefined;
}

/**
 * The rows of a data-frame resolver's output: `dataFrame(User, 'id', 'name')` is an array of `{ id, name }`
 * objects, one per entity; the primary key must be among the features.
 */
export interface DataFrameRef<Row = unknown> {
  readonly kind: 'dataframe';
  readonly namespace: string;
  /** FQNs of the features each row carries. */
  readonly features: readonly string[];
  readonly __value: readonly Row[];
}

/**
 * Declares a data-frame output: rows of `featureClass` holding the named features.
 *
 * @example
 * export const all_users = online({
 *   inputs: {},
 *   outputs: { users: dataFrame(User, 'id', 'name') },
 *   total: true,
 *   fn: () => ({ users: db.users.map((u) => ({ id: u.id, name: u.name })) }),
 * });
 */
export function dataFrame<C extends AnyFeatureClass, const K extends keyof RowOf<C> & string>(
  featureClass: C,
  ...names: K[]
): DataFrameRef<Pick<RowOf<C>, K>> {
  const { namespace } = featureClassInternals(featureClass);
  return Object.freeze({
    kind: 'dataframe',
    namespace,
    features: names.map((name) => `${namespace}.${name}`),
  }) as unknown as DataFrameRef<Pick<RowOf<C>, K>>;
}

export type ResolverRefs = Record<string, FeatureRef | HasManyRef | DataFrameRef>;

/** The values a resolver receives or returns, by parameter name. */
export type ValuesOf<R extends ResolverRefs> = { [K in keyof R]: R[K]['__value'] };

export interface ResolverOptions<I extends ResolverRefs, O extends ResolverRefs> {
  /** The resolver's name; by default the name it is exported under. */
  readonly name?: string;
  /** Features (of one namespace) the resolver reads, by parameter name. */
  readonly inputs: I;
  /** Features (of the same namespace) the resolver computes, by parameter name. */
  readonly outputs: O;
  readonly fn: (inputs: ValuesOf<I>, context: ResolverContext) => ValuesOf<O> | Promise<ValuesOf<O>>;
  /** Environments the resolver runs in (all when unset). */
  readonly environment?: string | readonly string[];
  /** Tags that must all match the query's tags for the resolver to be chosen. */
  readonly tags?: readonly string[];
  /** The query stops waiting after this long and reports `RESOLVER_TIMED_OUT`. */
  readonly timeout?: Duration;
  /** Runs on a schedule: a UTC crontab (`"0 * * * *"`) or a duration (`"1h"`). */
  readonly cron?: string;
  /**
   * For a data-frame resolver: it returns every entity (a query with no inputs answers one row per
   * entity it returns).
   */
  readonly total?: boolean;
  readonly description?: string;
  readonly owner?: string;
}

/** A resolver declared with `online(...)` or `offline(...)`. */
export interface Resolver<I extends ResolverRefs = ResolverRefs, O extends ResolverRefs = ResolverRefs> {
  readonly [resolverBrand]: ResolverInternals<I, O>;
}

/** Options of a batch resolver: like `ResolverOptions`, but `fn` gets every row at once. */
export interface BatchResolverOptions<I extends ResolverRefs, O extends ResolverRefs>
  extends Omit<ResolverOptions<I, O>, 'fn'> {
  /** Receives the inputs of every row of the query; returns one output object per row, in order. */
  readonly fn: (rows: ValuesOf<I>[], context: ResolverContext) => ValuesOf<O>[] | Promise<ValuesOf<O>[]>;
}

export interface ResolverInternals<
  I extends ResolverRefs = ResolverRefs,
  O extends ResolverRefs = ResolverRefs,
> extends Omit<ResolverOptions<I, O>, 'fn'> {
  readonly kind: 'online' | 'offline';
  readonly batch: boolean;
  readonly fn: ResolverOptions<I, O>['fn'] | BatchResolverOptions<I, O>['fn'];
  readonly source?: SourceLocation;
}

/**
 * Declares an online resolver: a function from features of one entity to other features of it. Runs in
 * online and offline queries. Types flow end to end: `fn` receives exactly the declared inputs and must
 * return every declared output with its feature's type.
 *
 * @example
 * export const emailDomain = online({
 *   inputs: { email: User.email },
 *   outputs: { domain: User.email_domain },
 *   fn: ({ email }) => ({ domain: email.split('@')[1] ?? '' }),
 * });
 */
function declareOnline<const I extends ResolverRefs, const O extends ResolverRefs>(
  options: ResolverOptions<I, O>,
): Resolver<I, O> {
  return declare('online', options, false, callerLocation());
}

/**
 * Declares a batch resolver: `fn` receives the inputs of every row of a query at once and returns an
 * output object per row, in order (e.g. one database round trip for a bulk query). A thrown error, or a
 * result of the wrong length, fails every row of the call.
 *
 * @example
 * export const scores = online.batch({
 *   inputs: { id: User.id },
 *   outputs: { score: User.score },
 *   fn: async (rows) => (await scoreService.many(rows.map((r) => r.id))).map((score) => ({ score })),
 * });
 */
function declareOnlineBatch<const I extends ResolverRefs, const O extends ResolverRefs>(
  options: BatchResolverOptions<I, O>,
): Resolver<I, O> {
  return declare('online', options, true, callerLocation());
}

export const online: typeof declareOnline & { readonly batch: typeof declareOnlineBatch } = Object.assign(
  declareOnline,
  { batch: declareOnlineBatch },
);

/** Declares an offline resolver: like `online`, but it runs only in offline queries and scheduled runs. */
export function offline<const I extends ResolverRefs, const O extends ResolverRefs>(
  options: ResolverOptions<I, O>,
): Resolver<I, O> {
  return declare('offline', options, false, callerLocation());
}

/** The `kind`s of what `features(...)` and `dataFrame(...)` hand out. */
const refKinds = new Set(['scalar', 'windowed', 'has_many', 'has_one', 'dataframe']);

function declare<I extends ResolverRefs, O extends ResolverRefs>(
  kind: 'online' | 'offline',
  options: ResolverOptions<I, O> | BatchResolverOptions<I, O>,
  batch: boolean,
  source: SourceLocation | undefined,
): Resolver<I, O> {
  const fail = (message: string) =>
    new SlateError(
      'input',
      'INVALID_RESOLVER',
      `${source ? `${source.file}:${source.line}: ` : ''}${message}`,
      {
        source,
      },
    );
  if (options.timeout !== undefined) {
    try {
      parseDuration(options.timeout);
    } catch {
      throw fail(`timeout '${options.timeout}' is not a duration (try "200ms", "5s")`);
    }
  }
  for (const [side, refs] of [
    ['input', options.inputs],
    ['output', options.outputs],
  ] as const) {
    for (const [param, ref] of Object.entries((refs ?? {}) as Record<string, unknown>)) {
      const kind = (ref as { kind?: unknown } | null | undefined)?.kind;
      if (typeof ref !== 'object' || ref === null || typeof kind !== 'string' || !refKinds.has(kind))
        throw fail(
          `${side} '${param}' is not a feature reference (got ${ref === null ? 'null' : typeof ref}): ` +
            'write a feature of a class, e.g. User.email',
        );
    }
  }
  const outputs = Object.values(options.outputs);
  if (outputs.some((ref) => ref.kind === 'dataframe') && outputs.length > 1)
    throw fail('a data-frame output must be the only output');
  if (options.total && !outputs.some((ref) => ref.kind === 'dataframe'))
    throw fail('total resolvers return a data frame: use outputs: { rows: dataFrame(Class, ...) }');
  return Object.freeze({ [resolverBrand]: Object.freeze({ ...options, kind, batch, source }) });
}

export function isResolver(value: unknown): value is Resolver {
  return typeof value === 'object' && value !== null && resolverBrand in value;
}

export function resolverInternals(resolver: Resolver): ResolverInternals {
  return resolver[resolverBrand] as ResolverInternals;
}
