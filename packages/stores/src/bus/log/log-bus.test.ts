import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBusConformance } from '../bus-conformance.ts';
import { createLogBus } from './log-bus.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-log-bus-'));
afterAll(() => rm(root, { recursive: true, force: true }));

runBusConformance('embedded log', {
  create: async () => {
    const bus = createLogBus({ root });
    await bus.init();
    return bus;
  },
});

describe('createLogBus', () => {
  it('rolls segments and reads across them after a restart', async () => {
    const folder = await mkdtemp(join(root, 'roll-'));
    const bus = createLogBus({ root: folder, segmentBytes: 200, sync: false });
    await bus.init();
    const values = Array.from({ length: 40 }, (_, i) => `value-${i}-${'x'.repeat(i)}`);
    for (const value of values) await bus.publish('t', [{ key: 'k', value }]);
    await bus.close();
    const segments = (await readdir(join(folder, 't'))).filter((name) => name.endsWith('.log'));
    expect(segments.length).toBeGreaterThan(5);

    const reopened = createLogBus({ root: folder });
    await reopened.init();
    const consumer = reopened.consumer({ topic: 't', group: 'g' });
    const got = [];
    for (
      let batch = await consumer.poll({ max: 13 });
      batch.length > 0;
      batch = await consumer.poll({ max: 13 })
    )
      got.push(...batch);
    expect(got.map((m) => m.value)).toEqual(values);
    expect(got.map((m) => m.offset)).toEqual(values.map((_, i) => String(i)));
    await reopened.close();
  });

  it('cuts off a torn tail left by a crash mid-append, keeping every whole record', async () => {
    const folder = await mkdtemp(join(root, 'torn-'));
    const bus = createLogBus({ root: folder });
    await bus.init();
    await bus.publish('t', [
      { key: 'k', value: 'a' },
      { key: 'k', value: 'b' },
    ]);
    await bus.close();
    const segment = join(folder, 't', `${'0'.repeat(20)}.log`);
    const whole = (await stat(segment)).size;
    // Half a frame: a length that promises more bytes than follow.
    await appendFile(segment, Buffer.from([50, 0, 0, 0, 1, 2, 3]));

    const reopened = createLogBus({ root: folder });
    await reopened.init();
    expect(await reopened.publish('t', [{ key: 'k', value: 'c' }])).toEqual(['2']);
    expect((await stat(segment)).size).toBeGreaterThan(whole);
    const got = await reopened.consumer({ topic: 't', group: 'g' }).poll({ max: 10 });
    expect(got.map((m) => m.value)).toEqual(['a', 'b', 'c']);
    await reopened.close();
  });
});

describe('createLogBus retention', () => {
  const segmentsOf = async (folder: string, topic: string) =>
    (await readdir(join(folder, topic))).filter((name) => name.endsWith('.log')).length;

  it('deletes the segments every group has acknowledged, and keeps what one group still needs', async () => {
    const folder = await mkdtemp(join(root, 'retention-'));
    const bus = createLogBus({ root: folder, segmentBytes: 400, sync: false });
    await bus.init();
    const fast = bus.consumer({ topic: 't', group: 'fast' });
    const slow = bus.consumer({ topic: 't', group: 'slow' });
    // Both groups exist (their files) before the records.
    await fast.poll({ max: 1 });
    await slow.poll({ max: 1 });
    const values = Array.from({ length: 300 }, (_, i) => `value-${i}`);
    for (let i = 0; i < values.length; i += 50)
      await bus.publish(
        't',
        values.slice(i, i + 50).map((value) => ({ key: 'k', value })),
      );
    const written = await segmentsOf(folder, 't');
    expect(written).toBeGreaterThan(20);
    const drain = async (consumer: typeof fast, upTo: number) => {
      const got: string[] = [];
      while (got.length < upTo) {
        const batch = await consumer.poll({ max: Math.min(40, upTo - got.length) });
        if (batch.length === 0) break;
        await consumer.ack(batch);
        got.push(...batch.map((m) => m.value));
      }
      return got;
    };
    expect(await drain(fast, 300)).toEqual(values);
    // `slow` has acknowledged nothing: every segment stays.
    expect(await segmentsOf(folder, 't')).toBe(written);
    expect(await drain(slow, 150)).toEqual(values.slice(0, 150));
    const half = await segmentsOf(folder, 't');
    expect(half).toBeLessThan(written * 0.6);
    expect(half).toBeGreaterThan(written * 0.4);
    await bus.close();

    // After a restart the slow group resumes where it was; the rest of the log is still there.
    const reopened = createLogBus({ root: folder, segmentBytes: 400, sync: false });
    await reopened.init();
    const resumed = reopened.consumer({ topic: 't', group: 'slow' });
    expect(await drain(resumed, 300)).toEqual(values.slice(150));
    expect(await segmentsOf(folder, 't')).toBe(1);
    await reopened.close();
  });
});
