import type { ExprNode } from './expression.ts';
import type { DType } from './graph-artifact.ts';

/** The type of an expression as lint sees it; `unknown` when it cannot tell (documents, unknown features). */
export type ExprType =
  | 'int'
  | 'float'
  | 'string'
  | 'bool'
  | 'datetime'
  | 'date'
  | 'list'
  | 'struct'
  | 'unknown';

/** How type inference finds the types of what an expression reads. */
export interface ExprTypeScope {
  /** The type of a root feature (or has-one path), `undefined` when there is no such feature. */
  feature(fqn: string): DType | undefined;
  /** The type of a column of a has-many relation's rows. */
  column(relation: string, name: string): DType | undefined;
}

/** The inferred type of an expression and the type errors found in it. */
export interface ExprTypeResult {
  readonly type: ExprType;
  /** Struct fields when `type` is `struct`, for field access. */
  readonly fields?: Readonly<Record<string, DType>>;
  readonly errors: readonly string[];
}

const numeric = (t: ExprType) => t === 'int' || t === 'float' || t === 'unknown';
const orderable = (t: ExprType) => t !== 'bool' && t !== 'list' && t !== 'struct';

/** The `ExprType` of a feature type. */
export function exprTypeOf(dtype: DType): ExprType {
  switch (dtype.type) {
    case 'int':
    case 'float':
    case 'string':
    case 'bool':
    case 'datetime':
    case 'date':
      return dtype.type;
    case 'enum':
      return 'string';
    case 'list':
    case 'set':
    case 'vector':
      return 'list';
    case 'struct':
      return 'struct';
    case 'document':
      return 'unknown';
  }
}

/**
 * Infers an expression's type and reports operators and functions applied to values of the wrong type
 * (`F.lower` of an int, `+` on strings, a comparison of a string with a number, `sum` of strings…).
 * Never throws.
 *
 * @example
 * inferExpressionType(node, { feature: (fqn) => dtypes.get(fqn), column: () => undefined }).errors;
 */
export function inferExpressionType(node: ExprNode, scope: ExprTypeScope): ExprTypeResult {
  const errors: string[] = [];
  const fromDType = (dtype: DType | undefined): ExprTypeResult =>
    dtype === undefined
      ? { type: 'unknown', errors }
      : { type: exprTypeOf(dtype), fields: dtype.type === 'struct' ? dtype.fields : undefined, errors };

  const infer = (n: ExprNode, relation: string | null): ExprTypeResult => {
    const t = (child: ExprNode) => infer(child, relation).type;
    const result = (type: ExprType): ExprTypeResult => ({ type, errors });
    switch (n.kind) {
      case 'literal':
        if (n.dtype === 'datetime') return result('datetime');
        if (typeof n.value === 'number') return result(Number.isInteger(n.value) ? 'int' : 'float');
        if (typeof n.value === 'string') return result('string');
        if (typeof n.value === 'boolean') return result('bool');
        return result('unknown');
      case 'feature':
        return fromDType(scope.feature(n.fqn));
      case 'column':
        return fromDType(relation === null ? undefined : scope.column(relation, n.name));
      case 'now':
      case 'window_start':
        return result('datetime');
      case 'field': {
        const of = infer(n.of, relation);
        if (of.type === 'struct' && of.fields) {
          const field = of.fields[n.name];
          if (!field) errors.push(`the struct has no field '${n.name}'`);
          return fromDType(field);
        }
        if (of.type !== 'unknown') errors.push(`field access .${n.name} on a ${of.type}`);
        return result('unknown');
      }
      case 'unary': {
        const arg = t(n.arg);
        if (n.op === 'is_null') return result('bool');
        if (n.op === 'not') {
          if (arg !== 'bool' && arg !== 'unknown') errors.push(`not() of a ${arg}`);
          return result('bool');
        }
        if (!numeric(arg)) errors.push(`negation of a ${arg}`);
        return result(arg);
      }
      case 'binary': {
        const left = t(n.left);
        const right = t(n.right);
        switch (n.op) {
          case 'add':
          case 'sub':
          case 'mul':
          case 'mod':
            if (!numeric(left) || !numeric(right)) {
              errors.push(`'${n.op}' needs numbers, got ${left} and ${right}`);
              return result('unknown');
            }
            return result(left === 'int' && right === 'int' ? 'int' : left === 'unknown' ? right : left);
          case 'div':
            if (!numeric(left) || !numeric(right))
              errors.push(`'div' needs numbers, got ${left} and ${right}`);
            return result('float');
          case 'and':
          case 'or':
            for (const side of [left, right])
              if (side !== 'bool' && side !== 'unknown') errors.push(`'${n.op}' needs booleans, got ${side}`);
            return result('bool');
          default: {
            const comparable =
              left === 'unknown' ||
              right === 'unknown' ||
              left === right ||
              (numeric(left) && numeric(right)) ||
              // Dates compare with datetimes, and ISO strings with either.
              (['date', 'datetime', 'string'].includes(left) &&
                ['date', 'datetime', 'string'].includes(right));
            if (!comparable) errors.push(`'${n.op}' compares a ${left} with a ${right}`);
            else if (n.op !== 'eq' && n.op !== 'ne' && (!orderable(left) || !orderable(right)))
              errors.push(`'${n.op}' orders ${left} values`);
            return result('bool');
          }
        }
      }
      case 'call':
        return inferCall(n.fn, n.args.map(t), errors);
      case 'aggregate': {
        const where = n.where ? infer(n.where, n.relation).type : 'bool';
        if (where !== 'bool' && where !== 'unknown') errors.push(`a filter must be a boolean, got ${where}`);
        const selected = n.select ? infer(n.select, n.relation).type : null;
        switch (n.fn) {
          case 'count':
          case 'approx_count_distinct':
            return result('int');
          case 'any':
          case 'all':
            if (selected !== null && selected !== 'bool' && selected !== 'unknown')
              errors.push(`${n.fn}() needs booleans, got ${selected}`);
            return result('bool');
          case 'min':
          case 'max':
            if (selected === null) errors.push(`${n.fn}() needs a projection (which column?)`);
            else if (!orderable(selected)) errors.push(`${n.fn}() of ${selected} values`);
            return result(selected ?? 'unknown');
          case 'sum':
            if (selected === null) errors.push('sum() needs a projection (which column?)');
            else if (!numeric(selected)) errors.push(`sum() of ${selected} values`);
            return result(selected === 'int' ? 'int' : selected === null ? 'unknown' : 'float');
          default:
            if (selected === null) errors.push(`${n.fn}() needs a projection (which column?)`);
            else if (!numeric(selected)) errors.push(`${n.fn}() of ${selected} values`);
            return result('float');
        }
      }
    }
  };
  return infer(node, null);
}

function inferCall(fn: string, args: ExprType[], errors: string[]): ExprTypeResult {
  const result = (type: ExprType): ExprTypeResult => ({ type, errors });
  const expect = (index: number, allowed: readonly ExprType[]) => {
    const arg = args[index];
    if (arg !== undefined && arg !== 'unknown' && !allowed.includes(arg))
      errors.push(`F.${fn}() argument ${index + 1} must be ${allowed.join(' or ')}, got ${arg}`);
  };
  const strings = (count: number) => {
    for (let i = 0; i < count; i++) expect(i, ['string']);
  };
  const numbers = (count: number) => {
    for (let i = 0; i < count; i++) expect(i, ['int', 'float']);
  };
  switch (fn) {
    case 'lower':
    case 'upper':
    case 'trim':
      strings(1);
      return result('string');
    case 'replace':
      strings(3);
      return result('string');
    case 'substr':
      strings(1);
      expect(1, ['int']);
      expect(2, ['int']);
      return result('string');
    case 'concat':
      strings(args.length);
      return result('string');
    case 'length':
      expect(0, ['string', 'list']);
      return result('int');
    case 'contains':
      expect(0, ['string', 'list']);
      return result('bool');
    case 'starts_with':
    case 'ends_with':
      strings(2);
      return result('bool');
    case 'abs':
      numbers(1);
      return result(args[0] === 'int' ? 'int' : 'float');
    case 'round':
    case 'floor':
    case 'ceil':
      numbers(1);
      return result(fn === 'round' && args.length > 1 ? 'float' : 'int');
    case 'sqrt':
    case 'exp':
    case 'ln':
      numbers(1);
      return result('float');
    case 'power':
      numbers(2);
      return result('float');
    case 'dot':
    case 'cosine_similarity':
      expect(0, ['list']);
      expect(1, ['list']);
      return result('float');
    case 'norm':
      expect(0, ['list']);
      return result('float');
    case 'greatest':
    case 'least':
    case 'coalesce': {
      const known = args.filter((a) => a !== 'unknown');
      const distinct = new Set(known.map((a) => (a === 'int' ? 'float' : a)));
      if (distinct.size > 1) errors.push(`F.${fn}() mixes ${[...new Set(known)].join(' and ')}`);
      return result(known.every((a) => a === 'int') && known.length > 0 ? 'int' : (known[0] ?? 'unknown'));
    }
    case 'if_then_else': {
      expect(0, ['bool']);
      const [, a = 'unknown', b = 'unknown'] = args;
      if (a !== 'unknown' && b !== 'unknown' && a !== b && !(numeric(a) && numeric(b)))
        errors.push(`F.if_then_else() branches differ: ${a} and ${b}`);
      return result(a === 'unknown' ? b : a);
    }
    case 'unix_seconds':
      expect(0, ['datetime', 'date']);
      return result('float');
    case 'seconds_between':
      expect(0, ['datetime', 'date']);
      expect(1, ['datetime', 'date']);
      return result('float');
    case 'cast_float':
      return result('float');
    case 'cast_int':
      return result('int');
    case 'cast_string':
      return result('string');
    default:
      return result('unknown');
  }
}

/** Whether a value of type `actual` may be stored in a feature of type `declared`. */
export function assignable(actual: ExprType, declared: DType): boolean {
  if (actual === 'unknown') return true;
  const target = exprTypeOf(declared);
  if (target === 'unknown') return true;
  if (target === actual) return true;
  return target === 'float' && actual === 'int';
}
