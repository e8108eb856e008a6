import type { RelationField } from '../feature-class.ts';
import type { ScalarField } from '../fields.ts';
import type { WindowedField } from '../windowed.ts';
import type { Expr, Rows } from './expr.ts';

type Leaf = Date | readonly unknown[] | string | number | boolean | bigint;

/** An expression of type `T`; a struct's fields are members (`_.home.lat`). */
export type ValueExpr<T> = Expr<T> &
  ([NonNullable<T>] extends [Leaf]
    ? unknown
    : NonNullable<T> extends object
      ? StructMembers<NonNullable<T>>
      : unknown);

type StructMembers<T> = { readonly [K in keyof T & string]-?: ValueExpr<T[K]> };

/** Query time and window start, available at every scope. */
export interface TimeScope {
  /** The query's time. */
  readonly chalk_now: Expr<Date>;
  /** The start of the window a windowed feature computes (query time minus the window). */
  readonly chalk_window: Expr<Date>;
}

type FieldsOf<C> = C extends { readonly $fields: infer F } ? F : never;

/** `_` inside a has-many filter or projection: the related row's scalar features. */
export type RowScope<F> = {
  readonly [K in keyof F & string as F[K] extends ScalarField<unknown> ? K : never]: F[K] extends ScalarField<
    infer T
  >
    ? ValueExpr<T>
    : never;
} & TimeScope;

type FieldExpr<D> =
  D extends ScalarField<infer T>
    ? ValueExpr<T>
    : D extends RelationField<infer C, 'has_many'>
      ? Rows<RowScope<FieldsOf<C>>, never>
      : D extends RelationField<infer C, 'has_one'>
        ? Scope<FieldsOf<C>>
        : D extends WindowedField<unknown>
          ? never
          : never;

/**
 * `_` of a feature class with fields `F`, in the typed `expressions` option of `features(...)`: each scalar
 * feature is a typed expression, a has-many relationship is `Rows` (filter, project, aggregate), a has-one
 * relationship is the related class's scope (`_.profile.email`).
 */
export type Scope<F> = { readonly [K in keyof F & string]: FieldExpr<F[K]> } & TimeScope;

/** What the `expressions` option returns: an expression for some scalar or windowed features of the class. */
export type ExpressionsOf<F> = {
  readonly [K in keyof F]?: F[K] extends ScalarField<infer T>
    ? Expr<T>
    : F[K] extends WindowedField<infer T>
      ? Expr<T | null>
      : never;
};
