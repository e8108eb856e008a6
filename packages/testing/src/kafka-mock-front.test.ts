import { describe, expect, it } from 'vitest';
import { rewriteResponse } from './kafka-mock-front.ts';

/** A response frame: size, correlation id, then the body. */
function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(4 + body.length, 0);
  head.writeInt32BE(42, 4);
  return Buffer.concat([head, body]);
}
const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const str = (s: string) => Buffer.concat([i16(s.length), Buffer.from(s)]);

describe('rewriteResponse', () => {
  it('caps the LeaveGroup version an ApiVersions v2 response advertises, and nothing else', () => {
    const body = Buffer.concat([
      i16(0),
      i32(3),
      ...[
        [0, 0, 10],
        [13, 0, 4],
        [14, 0, 4],
      ].flatMap(([key, min, max]) => [i16(key!), i16(min!), i16(max!)]),
      i32(0),
    ]);
    const response = frame(body);
    rewriteResponse(response, 18, 2, new Map());
    const expected = frame(
      Buffer.concat([
        i16(0),
        i32(3),
        ...[
          [0, 0, 10],
          [13, 0, 2],
          [14, 0, 4],
        ].flatMap(([key, min, max]) => [i16(key!), i16(min!), i16(max!)]),
        i32(0),
      ]),
    );
    expect(response.equals(expected)).toBe(true);
  });

  it('points a Metadata v6 response at the fronts, keeping ids, hosts, racks and the rest', () => {
    const broker = (id: number, port: number, rack: string | null) =>
      Buffer.concat([i32(id), str('127.0.0.1'), i32(port), rack === null ? i16(-1) : str(rack)]);
    const build = (ports: [number, number]) =>
      frame(
        Buffer.concat([
          i32(0),
          i32(2),
          broker(1, ports[0], null),
          broker(2, ports[1], 'r1'),
          str('cluster'),
          i32(1),
          i32(0),
        ]),
      );
    const response = build([9001, 9002]);
    rewriteResponse(
      response,
      3,
      6,
      new Map([
        [9001, 5001],
        [9002, 5002],
      ]),
    );
    expect(response.equals(build([5001, 5002]))).toBe(true);
  });
});
