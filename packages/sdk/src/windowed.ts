import { type DType, type Duration, parseDuration, SlateError, type SourceLocation } from '@slate/graph';
import { type Expr, type RawExpr, type Ref, rawExpr, rootScope } from './expressions/expr.ts';
import type { ScalarField } from './fields.ts';
import { callerLocation } from './source-location.ts';

const windowedBrand = Symbol.for('slate.windowedField');

/** Options of `windowed(...)`. */
export interface WindowedOptions<T> {
  /**
   * Computes one window; `_.chalk_window` is the window's start (query time minus the window). Inline and
   * untyped (see `Ref`); TypeScript code gives the expression in the typed `expressions` option of
   * `features(...)` instead, with `type` here.
   */
  readonly expression?: (_: Ref) => Expr<T | null>;
  /** The value when the expression yields `null` (e.g. `mean` of no rows). */
  readonly default?: T;
  /** The value type (inferred from an inline expression when omitted). */
  readonly type?: ScalarField<T>;
  readonly maxStaleness?: Duration;
  /**
   * Values a streaming resolver computes are also written online (with `maxStaleness`); by default the
   * class's setting.
   */
  readonly etlOfflineToOnline?: boolean;
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
}

/** A windowed feature declaration: one scalar feature per window (`name__600__`, `name__3600__`, …). */
export class WindowedField<T> {
  readonly [windowedBrand] = true;
  /** Phantom member carrying the value type; never set at run time. */
  declare readonly __value: T;

  constructor(
    /** Window lengths in seconds (`null` for `"all"`), in declaration order. */
    readonly windows: readonly (number | null)[],
    /** Set inline, or by the `expressions` option of `features(...)`; required by then. */
    readonly expression: RawExpr | undefined,
    readonly options: {
      readonly default?: unknown;
      readonly dtype?: DType;
      readonly maxStaleness?: Duration;
      readonly etlOfflineToOnline?: boolean;
      readonly description?: string;
      readonly owner?: string;
      readonly tags?: readonly string[];
      readonly source?: SourceLocation;
    },
  ) {}
}

/**
 * Declares a windowed feature: the same expression over several look-back windows. Each window becomes its
 * own feature named with the window in seconds (`num_failed__600__` for `"10m"`, `__all__` for `"all"`);
 * requesting the bare name returns every window. Reference one window with `User.num_failed.window('10m')`.
 *
 * @throws SlateError `INVALID_FEATURE` (with the file and line) for a bad or repeated window.
 * @example
 * export const User = features(
 *   'user',
 *   { id: int(), logins: hasMany(() => Login, { on: { user_id: 'id' } }), num_failed: windowed('10m', '1h', '1d', { type: int(), default: 0 }) },
 *   {
 *     expressions: (_) => ({
 *       num_failed: _.logins.where((l) => l.status.eq('failed').and(l.at.gt(_.chalk_window))).count(),
 *     }),
 *   },
 * );
 */
export function windowed<T>(
  ...args: [...windows: Duration[], options: WindowedOptions<T> & { readonly default: T }]
): WindowedField<T>;
export function windowed<T>(
  ...args: [...windows: Duration[], options: WindowedOptions<T>]
): WindowedField<T | null>;
export function windowed<T>(...args: unknown[]): WindowedField<T | null> {
  const source = callerLocation();
  const options = args.at(-1) as WindowedOptions<T>;
  const texts = args.slice(0, -1) as string[];
  const fail = (message: string) =>
    new SlateError(
      'input',
      'INVALID_FEATURE',
      `${source ? `${source.file}:${source.line}: ` : ''}${message}`,
      {
        source,
      },
    );
  if (texts.length === 0) throw fail('windowed() needs at least one window, e.g. windowed("10m", {...})');
  const windows = texts.map((text) => {
    try {
      return parseDuration(text);
    } catch {
      throw fail(`'${text}' is not a window (try "10m", "1h", "1d" or "all")`);
    }
  });
  if (new Set(windows).size !== windows.length) throw fail('windowed() repeats a window');
  if (windows.some((w) => w === 0)) throw fail('a window must be longer than 0s');
  if (options.maxStaleness !== undefined) parseDuration(options.maxStaleness);
  const expression = options.expression ? rawExpr(options.expression(rootScope())) : undefined;
  return new WindowedField<T | null>(windows, expression, {
    default: options.default,
    dtype: options.type?.dtype,
    maxStaleness: options.maxStaleness,
    ...(options.etlOfflineToOnline === undefined ? {} : { etlOfflineToOnline: options.etlOfflineToOnline }),
    description: options.description,
    owner: options.owner,
    tags: options.tags,
    source,
  });
}

export function isWindowedField(value: unknown): value is WindowedField<unknown> {
  return typeof value === 'object' && value !== null && windowedBrand in value;
}
