import type { DType } from '@slate/graph';
import { Table, tableToIPC, vectorFromArray } from 'apache-arrow';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrowTypeOf, toArrowValue, toArrowVector } from './arrow-values.ts';

/** The generic path, written out: every value through `toArrowValue` and Arrow's builder. */
const viaBuilder = (dtype: DType, values: readonly unknown[], failed: readonly boolean[]) =>
  vectorFromArray(
    values.map((value, row) => (failed[row] ? null : toArrowValue(dtype, value))),
    arrowTypeOf(dtype),
  );

const ipc = (column: ReturnType<typeof toArrowVector>) => tableToIPC(new Table({ c: column }), 'stream');

const cases: readonly [DType, fc.Arbitrary<unknown>][] = [
  [{ type: 'float' }, fc.double()],
  [{ type: 'int' }, fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))],
  [{ type: 'datetime' }, fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })],
];

describe('toArrowVector', () => {
  for (const [dtype, value] of cases) {
    it(`writes the same IPC bytes as Arrow's builder for ${dtype.type} columns`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.record({ value: fc.option(value, { nil: null }), failed: fc.boolean() }), {
            maxLength: 130,
          }),
          (rows) => {
            const values = rows.map((row) => row.value);
            const failed = rows.map((row) => row.failed);
            const direct = toArrowVector(dtype, values, (row) => failed[row]!);
            expect(direct.nullCount).toBe(rows.filter((r) => r.failed || r.value === null).length);
            expect(Buffer.from(ipc(direct))).toEqual(Buffer.from(ipc(viaBuilder(dtype, values, failed))));
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('reads back the values it was given, nulls where a row failed', () => {
    const column = toArrowVector({ type: 'float' }, [1.5, null, 3, 4], (row) => row === 3);
    expect(column.toArray().slice(0, 1)).toEqual(new Float64Array([1.5]));
    expect([...column]).toEqual([1.5, null, 3, null]);
  });
});
