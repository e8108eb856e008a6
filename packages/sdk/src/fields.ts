import {
  type DType,
  type Duration,
  parseDuration,
  type ScalarFeatureSpec,
  SlateError,
  type SourceLocation,
} from '@slate/graph';
import { type Expr, type RawExpr, type Ref, rawExpr, rootScope } from './expressions/expr.ts';
import { callerLocation } from './source-location.ts';

/** Options of a scalar field, set through the builder's methods. */
export interface ScalarFieldOptions {
  readonly primary?: boolean;
  readonly featureTime?: boolean;
  readonly nullable?: boolean;
  readonly default?: unknown;
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
  /** The default version (what the bare name means) when the feature has several `versions`. */
  readonly version?: number;
  /** How many versions the feature has (`user.score@1` … `@n`); 1 when unset. */
  readonly versions?: number;
  readonly deprecatedVersions?: readonly number[];
  readonly deprecated?: boolean;
  /** The feature is computed by this expression (built by `.expression(...)`). */
  readonly expression?: RawExpr;
  /** Where the field was declared, for lint messages. */
  readonly source?: SourceLocation;
  readonly maxStaleness?: Duration;
  readonly offlineTtl?: Duration;
  readonly storeOnline?: boolean;
  readonly storeOffline?: boolean;
  readonly etlOfflineToOnline?: boolean;
  readonly cacheNulls?: boolean;
  readonly cacheDefaults?: boolean;
  readonly validations?: ScalarFeatureSpec['validations'];
}

const scalarFieldBrand = Symbol.for('slate.scalarField');

/**
 * A scalar feature declaration inside `features(...)`. Immutable: each method returns a new field.
 * `T` is the value type resolvers receive and return.
 *
 * @example
 * const score = float().describe('0..1 risk').maxStaleness('1h').nullable();
 */
export class ScalarField<T> {
  readonly [scalarFieldBrand] = true;
  /** Phantom member carrying the value type; never set at run time. */
  declare readonly __value: T;

  constructor(
    readonly dtype: DType,
    readonly options: ScalarFieldOptions = { source: callerLocation() },
  ) {}

  private with<U = T>(options: ScalarFieldOptions): ScalarField<U> {
    return new ScalarField<U>(this.dtype, { ...this.options, ...options });
  }

  /** Marks the primary key (by default the field named `id`). */
  primary(): ScalarField<T> {
    return this.with({ primary: true });
  }
  /** Marks the feature-time field: when the values of a row were observed (by default a field named `ts`). */
  featureTime(): ScalarField<T> {
    return this.with({ featureTime: true });
  }
  nullable(): ScalarField<T | null> {
    return this.with<T | null>({ nullable: true });
  }
  /** The value returned when no resolver produces one. */
  default(value: T): ScalarField<T> {
    return this.with({ default: value });
  }
  describe(description: string): ScalarField<T> {
    return this.with({ description });
  }
  owner(owner: string): ScalarField<T> {
    return this.with({ owner });
  }
  tags(...tags: string[]): ScalarField<T> {
    return this.with({ tags: [...(this.options.tags ?? []), ...tags] });
  }
  /**
   * Declares `count` versions (`user.score@1` … `@count`), each its own feature with its own resolvers and
   * cached values; the bare name means `default` (1 unless given). `deprecated` versions log a warning
   * when queried. Primary keys, feature times and windowed features cannot be versioned.
   *
   * @example
   * score: float().version(2, { default: 2, deprecated: [1] })
   */
  version(count: number, options: { default?: number; deprecated?: readonly number[] } = {}): ScalarField<T> {
    if (!Number.isInteger(count) || count < 1)
      throw fieldError(this, `version count ${count} is not a positive integer`);
    return this.with({
      versions: count,
      version: options.default ?? 1,
      deprecatedVersions: options.deprecated,
    });
  }
  /**
   * Computes the feature with an expression of the `_` DSL instead of a resolver: no user code runs, the
   * engine interprets it. `_` is the feature class; the expression's type must fit the feature's (a
   * nullable aggregation such as `mean()` needs `.nullable()` first, or `F.coalesce`).
   *
   * @example
   * subtotal: float().expression((_) => _.total.sub(_.sales_tax)),
   * big_spend: float().expression((_) => _.transactions.where((t) => t.amount.gt(100)).sum((t) => t.amount)),
   */
  expression(define: (_: Ref) => Expr<T>): ScalarField<T> {
    return this.with({ expression: rawExpr(define(rootScope())) });
  }
  deprecated(): ScalarField<T> {
    return this.with({ deprecated: true });
  }
  /** How long a cached online value stays fresh (`"1h 30m"`, `"infinity"`; `"0s"` never caches). */
  maxStaleness(duration: Duration): ScalarField<T> {
    checkDuration(this, duration);
    return this.with({ maxStaleness: duration });
  }
  /** How long after observation an offline value still counts in point-in-time queries. */
  offlineTtl(duration: Duration): ScalarField<T> {
    checkDuration(this, duration);
    return this.with({ offlineTtl: duration });
  }
  store(where: { online?: boolean; offline?: boolean }): ScalarField<T> {
    return this.with({ storeOnline: where.online, storeOffline: where.offline });
  }
  etlOfflineToOnline(enabled = true): ScalarField<T> {
    return this.with({ etlOfflineToOnline: enabled });
  }
  cache(options: { nulls?: boolean; defaults?: boolean }): ScalarField<T> {
    return this.with({ cacheNulls: options.nulls, cacheDefaults: options.defaults });
  }
  validate(validations: NonNullable<ScalarFeatureSpec['validations']>): ScalarField<T> {
    return this.with({ validations });
  }
}

/** A definition error pointing at the field's declaration. */
function fieldError(field: ScalarField<unknown>, message: string): SlateError {
  const source = field.options.source ?? callerLocation();
  const where = source ? `${source.file}:${source.line}: ` : '';
  return new SlateError('input', 'INVALID_FEATURE', `${where}${message}`, { source });
}

function checkDuration(field: ScalarField<unknown>, duration: Duration): void {
  try {
    parseDuration(duration);
  } catch (error) {
    throw fieldError(field, error instanceof Error ? error.message : String(error));
  }
}

export function isScalarField(value: unknown): value is ScalarField<unknown> {
  return typeof value === 'object' && value !== null && scalarFieldBrand in value;
}

/** A 64-bit integer feature (a JS `number`; exact up to 2^53). */
export const int = (): ScalarField<number> => new ScalarField({ type: 'int' });
export const float = (): ScalarField<number> => new ScalarField({ type: 'float' });
export const string = (): ScalarField<string> => new ScalarField({ type: 'string' });
export const bool = (): ScalarField<boolean> => new ScalarField({ type: 'bool' });
/** A calendar date, as an ISO `YYYY-MM-DD` string. */
export const date = (): ScalarField<string> => new ScalarField({ type: 'date' });
/** An instant in time, as a `Date`. */
export const datetime = (): ScalarField<Date> => new ScalarField({ type: 'datetime' });
/** One of a fixed set of strings. */
export const enumOf = <const V extends readonly [string, ...string[]]>(
  ...values: V
): ScalarField<V[number]> => new ScalarField({ type: 'enum', values: [...values] });
export const list = <T>(of: ScalarField<T>): ScalarField<T[]> =>
  new ScalarField({ type: 'list', of: of.dtype });
export const set = <T>(of: ScalarField<T>): ScalarField<T[]> =>
  new ScalarField({ type: 'set', of: of.dtype });
/** A typed object with named fields. */
export const struct = <F extends Record<string, ScalarField<unknown>>>(
  fields: F,
): ScalarField<{ [K in keyof F]: F[K]['__value'] }> =>
  new ScalarField({
    type: 'struct',
    fields: Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, field.dtype])),
  });
/** A fixed-length embedding. */
export const vector = (dimensions: number): ScalarField<number[]> =>
  new ScalarField({ type: 'vector', dimensions });
/** Any JSON value; tolerates schema evolution. */
export const document = <T = unknown>(): ScalarField<T> => new ScalarField({ type: 'document' });
