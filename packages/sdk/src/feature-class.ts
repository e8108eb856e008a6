import {
  type Duration,
  didYouMean,
  parseDuration,
  SlateError,
  type SourceLocation,
  windowSuffix,
} from '@slate/graph';
import { rawExpr, rootScope } from './expressions/expr.ts';
import type { ExpressionsOf, Scope } from './expressions/scope.ts';
import { isScalarField, ScalarField } from './fields.ts';
import { callerLocation, callerPosition } from './source-location.ts';
import { isWindowedField, WindowedField } from './windowed.ts';

const classBrand = Symbol.for('slate.featureClass');
const relationBrand = Symbol.for('slate.relationField');

/** Class-level options of `features(...)`; feature-level settings override them. */
export interface FeatureClassOptions<F = Record<string, FieldDefinition>> {
  /**
   * Expression features, typed: `_` is this class (`_.age` is an `Expr<number>`, `_.transactions` rows to
   * filter and aggregate, `_.profile.email` a has-one path); each returned expression must have its
   * feature's type. The engine computes these features itself, no resolver needed.
   *
   * @example
   * expressions: (_) => ({
   *   subtotal: _.total.sub(_.sales_tax),
   *   big_spend: _.transactions.where((t) => t.amount.gt(100)).sum((t) => t.amount),
   * })
   */
  readonly expressions?: (_: Scope<F>) => ExpressionsOf<F>;
  readonly description?: string;
  readonly owner?: string;
  /** Tags every feature of the class inherits. */
  readonly tags?: readonly string[];
  /** Default `maxStaleness` of every scalar feature of the class. */
  readonly maxStaleness?: Duration;
  readonly etlOfflineToOnline?: boolean;
}

/** A has-many or has-one declaration inside `features(...)`. */
export interface RelationField<C extends AnyFeatureClass, K extends 'has_many' | 'has_one'> {
  readonly [relationBrand]: true;
  readonly kind: K;
  readonly target: () => C;
  /** Join pairs: target field name → field name of the declaring class. */
  readonly on: Readonly<Record<string, string>>;
  readonly optional: boolean;
  readonly description?: string;
  readonly maxStaleness?: Duration;
}

export type FieldDefinition =
  | ScalarField<unknown>
  | WindowedField<unknown>
  | RelationField<AnyFeatureClass, 'has_many' | 'has_one'>;

type ScalarKeys<F> = { [K in keyof F]: F[K] extends ScalarField<unknown> ? K : never }[keyof F] & string;

/** A reference to one scalar feature, e.g. `User.name` (`fqn` `'user.name'`). */
export interface FeatureRef<Fqn extends string = string, T = unknown> {
  readonly kind: 'scalar';
  readonly fqn: Fqn;
  readonly namespace: string;
  readonly name: string;
  /** Phantom member carrying the value type. */
  readonly __value: T;
  /** One version of a versioned feature: `User.score.at(2)` is `user.score@2`. */
  at<V extends number>(version: V): FeatureRef<`${Fqn}@${V}`, T>;
}

/** A reference to a windowed feature, e.g. `User.num_failed`; its bare name requests every window. */
export interface WindowedRef<Fqn extends string = string, T = unknown> {
  readonly kind: 'windowed';
  readonly fqn: Fqn;
  readonly namespace: string;
  readonly name: string;
  /** The FQNs of every window (`user.num_failed__600__`, …). */
  readonly windows: readonly string[];
  /** One window, as declared (`'10m'`): a feature that resolvers can take as input. */
  window(duration: Duration): FeatureRef<`${Fqn}__${string}__`, T>;
  readonly __value: T;
}

/** A reference to a has-many relationship, e.g. `User.transactions`; its value is an array of rows. */
export interface HasManyRef<Fqn extends string = string, Row = unknown> {
  readonly kind: 'has_many';
  readonly fqn: Fqn;
  readonly namespace: string;
  readonly name: string;
  readonly target: string;
  /** FQNs of the target's scalar features each row carries (all of them unless narrowed by `select`). */
  readonly features: readonly string[];
  /** The same relationship with rows narrowed to the named target features. */
  select<K extends keyof Row & string>(...names: K[]): HasManyRef<Fqn, Pick<Row, K>>;
  readonly __value: Row[];
}

/** A reference to a has-one relationship, e.g. `User.profile`. */
export interface HasOneRef<Fqn extends string = string, Row = unknown> {
  readonly kind: 'has_one';
  readonly fqn: Fqn;
  readonly namespace: string;
  readonly name: string;
  readonly target: string;
  /** A feature of the related row, reached through this relationship: `User.profile.feature('email')`. */
  feature<K extends keyof Row & string>(name: K): FeatureRef<`${Fqn}.${K}`, Row[K]>;
  readonly __value: Row;
}

export type AnyRef = FeatureRef | HasManyRef | HasOneRef | WindowedRef;

type RefOf<NS extends string, K extends string, D> =
  D extends ScalarField<infer T>
    ? FeatureRef<`${NS}.${K}`, T>
    : D extends WindowedField<infer T>
      ? WindowedRef<`${NS}.${K}`, T>
      : D extends RelationField<infer C, 'has_many'>
        ? HasManyRef<`${NS}.${K}`, RowOf<C>>
        : D extends RelationField<infer C, 'has_one'>
          ? HasOneRef<`${NS}.${K}`, RowOf<C>>
          : never;

/** The object a resolver sees for one row of a feature class: its scalar features by name. */
export type RowOf<C> = C extends { readonly $fields: infer F }
  ? { [K in ScalarKeys<F>]: F[K] extends ScalarField<infer T> ? T : never }
  : never;

/** What `features(...)` returns: one reference per declared field, plus `$namespace`. */
export type FeatureClass<NS extends string, F extends Record<string, FieldDefinition>> = {
  readonly [K in keyof F & string]: RefOf<NS, K, F[K]>;
} & {
  readonly $namespace: NS;
  /** Phantom member carrying the field declarations' types. */
  readonly $fields: F;
  readonly [classBrand]: FeatureClassInternals;
};

/** The widest feature class, used as a constraint. */
export interface AnyFeatureClass {
  readonly $namespace: string;
  readonly $fields: Readonly<Record<string, FieldDefinition>>;
  readonly [classBrand]: FeatureClassInternals;
}

/** What the graph collector reads off a feature class. */
export interface FeatureClassInternals {
  readonly namespace: string;
  readonly fields: Readonly<Record<string, FieldDefinition>>;
  readonly options: Omit<FeatureClassOptions, 'expressions'>;
  readonly primaryKey: string;
  readonly featureTime?: string;
  readonly source?: SourceLocation;
}

const namespacePattern = /^[a-z_][a-z0-9_]*$/;

/**
 * Declares a feature class: a namespace of features about one kind of entity, keyed by a primary key
 * (the field marked `.primary()`, else the field named `id`).
 *
 * @throws SlateError `INVALID_FEATURE_CLASS` for a bad namespace or field name, or no primary key.
 * @example
 * export const User = features('user', {
 *   id: int(),
 *   name: string(),
 *   transactions: hasMany(() => Transaction, { on: { user_id: 'id' } }),
 * });
 * User.name.fqn; // 'user.name'
 */
export function features<const NS extends string, const F extends Record<string, FieldDefinition>>(
  namespace: NS,
  declared: F,
  options: FeatureClassOptions<F> = {},
): FeatureClass<NS, F> {
  const source = callerLocation();
  const fail = (message: string) =>
    new SlateError('input', 'INVALID_FEATURE_CLASS', `features('${namespace}'): ${message}`, { source });
  if (!namespacePattern.test(namespace)) throw fail('namespaces are lowercase letters, digits and _');
  if (options.maxStaleness !== undefined) parseDuration(options.maxStaleness);
  const fields = withExpressions(declared, options.expressions, fail);

  const entries = Object.entries(fields);
  for (const [name] of entries) {
    if (!namespacePattern.test(name)) throw fail(`field '${name}' must be lowercase letters, digits and _`);
  }
  const scalars = entries.filter(([, field]) => isScalarField(field)) as [string, ScalarField<unknown>][];
  const marked = scalars.filter(([, field]) => field.options.primary);
  if (marked.length > 1) throw fail(`more than one primary key: ${marked.map(([n]) => n).join(', ')}`);
  const primaryKey = marked[0]?.[0] ?? (scalars.some(([n]) => n === 'id') ? 'id' : undefined);
  if (!primaryKey) throw fail("no primary key: name a field 'id' or mark one with .primary()");
  const primaryType = scalars.find(([n]) => n === primaryKey)![1].dtype.type;
  if (primaryType !== 'int' && primaryType !== 'string')
    throw fail('the primary key must be int() or string()');
  const timed = scalars.filter(([, field]) => field.options.featureTime);
  if (timed.length > 1) throw fail('more than one feature-time field');
  const featureTime =
    timed[0]?.[0] ?? scalars.find(([n, field]) => n === 'ts' && field.dtype.type === 'datetime')?.[0];

  const { expressions: _expressions, ...classOptions } = options;
  const internals: FeatureClassInternals = {
    namespace,
    fields,
    options: classOptions,
    primaryKey,
    featureTime,
    source,
  };
  const featureClass: Record<string | symbol, unknown> = { $namespace: namespace, [classBrand]: internals };
  for (const [name, field] of entries) {
    const fqn = `${namespace}.${name}`;
    if (isScalarField(field)) {
      featureClass[name] = scalarRef(namespace, name, fqn);
    } else if (isWindowedField(field)) {
      featureClass[name] = windowedRef(namespace, name, fqn, field, fail);
    } else {
      featureClass[name] = relationRef(namespace, name, fqn, field);
    }
  }
  return guardUnknownFeatures(Object.freeze(featureClass), namespace) as FeatureClass<NS, F>;
}

/**
 * Names a feature class may be probed for without being features: promise checks, serializers, test
 * matchers. Only lowercase snake-case names (a feature's shape) are checked at all.
 */
const probedNames = new Set(['then', 'length', 'name', 'inspect', 'default', 'prototype']);
const featureNameShape = /^[a-z][a-z0-9_]*$/;

/**
 * Wraps a feature class so that reading a feature it lacks (`User.emial`) throws `UNKNOWN_FEATURE` at the
 * reading line, with a did-you-mean, instead of yielding `undefined` for the collector to trip on later.
 */
function guardUnknownFeatures(featureClass: Readonly<Record<string | symbol, unknown>>, namespace: string) {
  return new Proxy(featureClass, {
    get(target, key, receiver) {
      if (
        typeof key === 'string' &&
        !(key in target) &&
        featureNameShape.test(key) &&
        !probedNames.has(key)
      ) {
        const at = callerPosition();
        const features = Object.keys(target).filter((name) => !name.startsWith('$'));
        throw new SlateError(
          'input',
          'UNKNOWN_FEATURE',
          `${at ? `${at.file}:${at.line}:${at.column}: ` : ''}feature class '${namespace}' has no feature ` +
            `'${key}'${didYouMean(key, features)}`,
          {
            feature: `${namespace}.${key}`,
            ...(at ? { source: { file: at.file, line: at.line }, column: at.column } : {}),
          },
        );
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

/** Attaches the `expressions` option's expressions to their fields. */
function withExpressions<F extends Record<string, FieldDefinition>>(
  fields: F,
  expressions: FeatureClassOptions<F>['expressions'],
  fail: (message: string) => SlateError,
): Record<string, FieldDefinition> {
  const result: Record<string, FieldDefinition> = { ...fields };
  const defined = expressions
    ? (expressions(rootScope() as unknown as Scope<F>) as Record<string, unknown>)
    : {};
  for (const [name, expression] of Object.entries(defined)) {
    const field = result[name];
    if (expression === undefined) continue;
    if (isScalarField(field)) {
      result[name] = new ScalarField(field.dtype, { ...field.options, expression: rawExpr(expression) });
    } else if (isWindowedField(field)) {
      result[name] = new WindowedField(field.windows, rawExpr(expression), field.options);
    } else {
      throw fail(`expressions: '${name}' is not a scalar or windowed feature of this class`);
    }
  }
  // A windowed feature without an expression is computed by a windowed stream (`windowedStream`);
  // `collectGraph` refuses one that nothing computes.
  return result;
}

function scalarRef(namespace: string, name: string, fqn: string): FeatureRef {
  const ref: FeatureRef = Object.freeze({
    kind: 'scalar',
    fqn,
    namespace,
    name,
    at: (version: number) => {
      if (!Number.isInteger(version) || version < 1)
        throw new SlateError('input', 'INVALID_FEATURE', `${fqn}@${version}: versions are positive integers`);
      return scalarRef(namespace, name, `${fqn}@${version}`);
    },
  }) as unknown as FeatureRef;
  return ref;
}

function windowedRef(
  namespace: string,
  name: string,
  fqn: string,
  field: WindowedField<unknown>,
  fail: (message: string) => SlateError,
): WindowedRef {
  const windows = field.windows.map((seconds) => `${fqn}${windowSuffix(seconds)}`);
  return Object.freeze({
    kind: 'windowed',
    fqn,
    namespace,
    name,
    windows,
    window: (duration: Duration) => {
      const seconds = parseDuration(duration);
      if (!field.windows.includes(seconds))
        throw fail(`${fqn} has no window '${duration}' (its windows: ${windows.join(', ')})`);
      return scalarRef(namespace, `${name}${windowSuffix(seconds)}`, `${fqn}${windowSuffix(seconds)}`);
    },
  }) as unknown as WindowedRef;
}

function relationRef(
  namespace: string,
  name: string,
  fqn: string,
  field: RelationField<AnyFeatureClass, 'has_many' | 'has_one'>,
): HasManyRef | HasOneRef {
  // The target is a thunk (it may be declared later in the file), so its name is read on first use.
  const targetInternals = () => featureClassInternals(field.target());
  const allFeatures = () => scalarFeatureFqns(targetInternals());
  if (field.kind === 'has_one') {
    return Object.freeze({
      kind: 'has_one',
      fqn,
      namespace,
      name,
      get target() {
        return targetInternals().namespace;
      },
      feature: (feature: string) => scalarRef(namespace, `${name}.${feature}`, `${fqn}.${feature}`),
    }) as unknown as HasOneRef;
  }
  const make = (selected?: readonly string[]): HasManyRef =>
    Object.freeze({
      kind: 'has_many',
      fqn,
      namespace,
      name,
      get target() {
        return targetInternals().namespace;
      },
      get features() {
        const target = targetInternals().namespace;
        return selected ? selected.map((n) => `${target}.${n}`) : allFeatures();
      },
      select: (...names: string[]) => make(names),
    }) as unknown as HasManyRef;
  return make();
}

/**
 * Declares a has-many relationship: rows of `target` whose fields equal this class's fields as `on` maps
 * them (target field → this class's field). Composite keys name several pairs.
 *
 * @example
 * transactions: hasMany(() => Transaction, { on: { user_id: 'id' } })
 */
export function hasMany<C extends AnyFeatureClass>(
  target: () => C,
  options: {
    on: Partial<Record<keyof RowOf<C> & string, string>>;
    description?: string;
    maxStaleness?: Duration;
  },
): RelationField<C, 'has_many'> {
  return relation('has_many', target, options);
}

/** Declares a has-one relationship (`optional` when a missing row is not an error). */
export function hasOne<C extends AnyFeatureClass>(
  target: () => C,
  options: { on: Partial<Record<keyof RowOf<C> & string, string>>; optional?: boolean; description?: string },
): RelationField<C, 'has_one'> {
  return relation('has_one', target, options);
}

function relation<C extends AnyFeatureClass, K extends 'has_many' | 'has_one'>(
  kind: K,
  target: () => C,
  options: {
    on: Partial<Record<string, string>>;
    optional?: boolean;
    description?: string;
    maxStaleness?: Duration;
  },
): RelationField<C, K> {
  const on = Object.fromEntries(
    Object.entries(options.on).filter((e): e is [string, string] => e[1] !== undefined),
  );
  if (Object.keys(on).length === 0) {
    throw new SlateError('input', 'INVALID_RELATION', `${kind} needs at least one join pair in 'on'`);
  }
  if (options.maxStaleness !== undefined) parseDuration(options.maxStaleness);
  return {
    [relationBrand]: true,
    kind,
    target,
    on,
    optional: options.optional ?? false,
    description: options.description,
    maxStaleness: options.maxStaleness,
  };
}

export function isFeatureClass(value: unknown): value is AnyFeatureClass {
  return typeof value === 'object' && value !== null && classBrand in value;
}

export function isRelationField(
  value: unknown,
): value is RelationField<AnyFeatureClass, 'has_many' | 'has_one'> {
  return typeof value === 'object' && value !== null && relationBrand in value;
}

/** The declaration behind a feature class. */
export function featureClassInternals(featureClass: AnyFeatureClass): FeatureClassInternals {
  return featureClass[classBrand];
}

function scalarFeatureFqns(internals: FeatureClassInternals): string[] {
  return Object.entries(internals.fields)
    .filter(([, field]) => isScalarField(field))
    .map(([name]) => `${internals.namespace}.${name}`);
}
