import type { EngineResult, QueryError } from '@slate/engine';
import { describe, expect, it } from 'vitest';
import { withWireStacks } from './wire-stacks.ts';

const stack = [
  'Error: no such user',
  '    at getName (/home/alice/features/src/user.ts:4:9)',
  '    at callResolver (/opt/slate/node_modules/@slate/engine/src/runtime/call-resolver.ts:30:9)',
  '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
].join('\n');

const error: QueryError = {
  code: 'RESOLVER_FAILED',
  category: 'FIELD',
  message: 'no such user',
  feature: 'user.name',
  exception: { kind: 'Error', message: 'no such user', stacktrace: stack },
};

const result = {
  rowCount: 1,
  columns: [{ fqn: 'user.name', kind: 'scalar', values: [null], observedAt: [null], errors: [error] }],
  errors: [error],
} as unknown as EngineResult;

describe('withWireStacks', () => {
  it("keeps only the feature repository's frames in user mode, in errors and on columns", () => {
    const wire = withWireStacks(result, 'user');
    const expected = 'Error: no such user\n    at getName (/home/alice/features/src/user.ts:4:9)';
    expect(wire.errors[0]!.exception!.stacktrace).toBe(expected);
    expect(wire.columns[0]!.errors[0]!.exception!.stacktrace).toBe(expected);
    expect(result.errors[0]!.exception!.stacktrace).toBe(stack); // the engine's result is not changed
  });

  it('sends no stack when off and the whole one when full', () => {
    expect(withWireStacks(result, 'off').errors[0]!.exception!.stacktrace).toBe('');
    expect(withWireStacks(result, 'full').errors[0]!.exception!.stacktrace).toBe(stack);
  });
});
