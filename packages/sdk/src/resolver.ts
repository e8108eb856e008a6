import { type Duration, parseDuration, type SourceLocation } from '@slate/graph';
import type { FeatureRef, HasManyRef } from './feature-class.ts';
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

export type ResolverRefs = Record<string, FeatureRef | HasManyRef>;

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
  readonly description?: string;
  readonly owner?: string;
}

/** A resolver declared with `online(...)` or `offline(...)`. */
export interface Resolver<I extends ResolverRefs = ResolverRefs, O extends ResolverRefs = ResolverRefs> {
  readonly [resolverBrand]: ResolverInternals<I, O>;
}

export interface ResolverInternals<
  I extends ResolverRefs = ResolverRefs,
  O extends ResolverRefs = ResolverRefs,
> extends ResolverOptions<I, O> {
  readonly kind: 'online' | 'offline';
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
export function online<const I extends ResolverRefs, const O extends ResolverRefs>(
  options: ResolverOptions<I, O>,
): Resolver<I, O> {
  return declare('online', options, callerLocation());
}

/** Declares an offline resolver: like `online`, but it runs only in offline queries and scheduled runs. */
export function offline<const I extends ResolverRefs, const O extends ResolverRefs>(
  options: ResolverOptions<I, O>,
): Resolver<I, O> {
  return declare('offline', options, callerLocation());
}

function declare<I extends ResolverRefs, O extends ResolverRefs>(
  kind: 'online' | 'offline',
  options: ResolverOptions<I, O>,
  source: SourceLocation | undefined,
): Resolver<I, O> {
  if (options.timeout !== undefined) parseDuration(options.timeout);
  return Object.freeze({ [resolverBrand]: Object.freeze({ ...options, kind, source }) });
}

export function isResolver(value: unknown): value is Resolver {
  return typeof value === 'object' && value !== null && resolverBrand in value;
}

export function resolverInternals(resolver: Resolver): ResolverInternals {
  return resolver[resolverBrand] as ResolverInternals;
}
