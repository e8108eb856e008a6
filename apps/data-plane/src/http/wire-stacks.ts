import type { EngineResult, QueryError } from '@slate/engine';
import { type StackTraceMode, stackForWire } from '@slate/http-edge';

/**
 * An engine result whose resolver errors carry their stack traces as `mode` lets them leave the data plane
 * (see `stackForWire`): `off` empties them, `user` keeps only the feature repository's frames (no server
 * file paths), `full` leaves them alone. Applied to every query answer before it is shaped for the wire.
 *
 * @example
 * const answer = withWireStacks(await engine.query(query), 'user');
 */
export function withWireStacks(result: EngineResult, mode: StackTraceMode): EngineResult {
  if (mode === 'full') return result;
  const wire = (error: QueryError): QueryError =>
    error.exception
      ? {
          ...error,
          exception: { ...error.exception, stacktrace: stackForWire(error.exception.stacktrace, mode) },
        }
      : error;
  return {
    ...result,
    errors: result.errors.map(wire),
    columns: result.columns.map((column) => ({
      ...column,
      errors: column.errors.map((error) => (error ? wire(error) : null)),
    })),
  };
}
