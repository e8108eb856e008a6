import { create, toBinary } from '@bufbuild/protobuf';
import { ListValueSchema, ValueSchema } from '@bufbuild/protobuf/wkt';
import { SlateError } from '@slate/graph';
import { percentEncode } from '@slate/grpc-api';
import { describe, expect, it } from 'vitest';
import { fromProtoValue, toProtoDuration, toProtoValue } from './proto-values.ts';

describe('google.protobuf.Value', () => {
  it('round-trips JSON values', () => {
    const value = { a: 1, b: 'x', c: [true, null, 2.5], d: { e: [] } };
    expect(fromProtoValue(toProtoValue(value))).toEqual(value);
  });

  it('writes dates as ISO strings and bigints as numbers when exact, else decimal strings', () => {
    expect(fromProtoValue(toProtoValue(new Date(Date.UTC(2026, 0, 2))))).toBe('2026-01-02T00:00:00.000Z');
    expect(fromProtoValue(toProtoValue(42n))).toBe(42);
    expect(fromProtoValue(toProtoValue(2n ** 63n - 1n))).toBe('9223372036854775807');
  });

  it('encodes null as the null kind (field 1, varint 0), as other protobuf implementations read it', () => {
    expect([...toBinary(ValueSchema, toProtoValue(null))]).toEqual([0x08, 0x00]);
    expect(fromProtoValue(undefined)).toBeNull();
  });

  it('refuses values nested past 64 levels', () => {
    // Built as a client would send it (toProtoValue itself stops at 64 levels).
    let deep = create(ValueSchema, { kind: { case: 'numberValue', value: 1 } });
    for (let i = 0; i < 70; i++)
      deep = create(ValueSchema, {
        kind: { case: 'listValue', value: create(ListValueSchema, { values: [deep] }) },
      });
    expect(() => fromProtoValue(deep)).toThrow(SlateError);
  });
});

describe('durations', () => {
  it('splits seconds into whole seconds and nanos', () => {
    const duration = toProtoDuration(1.25);
    expect(duration.seconds).toBe(1n);
    expect(duration.nanos).toBe(250_000_000);
  });
});

describe('grpc-message percent-encoding (gRPC over HTTP/2 spec)', () => {
  it('keeps printable ASCII but %, and encodes the UTF-8 bytes of the rest', () => {
    expect(percentEncode('dev, not prod: 100% sure')).toBe('dev, not prod: 100%25 sure');
    expect(percentEncode('é\n')).toBe('%C3%A9%0A');
  });
});
