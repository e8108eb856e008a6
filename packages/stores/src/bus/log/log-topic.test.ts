import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LogTopic } from './log-topic.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-log-topic-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const record = (value: string) => ({ id: value, key: 'k', value, publishedAt: 1, headers: {} });

describe('LogTopic', () => {
  it('shows a record to readers only once its bytes are written', async () => {
    const topic = await LogTopic.open(join(root, 'racing'), 1 << 20, true);
    await topic.append([record('before')]);
    const appending = topic.append(Array.from({ length: 200 }, (_, i) => record(`during-${i}`)));
    // The append has framed its records and is waiting on its write (and fdatasync): read meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    const seen = await topic.read(0, 1_000);
    expect(seen.map((r) => r.value)).toEqual(['before']);
    expect(topic.count).toBe(1);
    expect(await appending).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(topic.count).toBe(201);
    expect((await topic.read(0, 1_000)).map((r) => r.value)).toEqual([
      'before',
      ...Array.from({ length: 200 }, (_, i) => `during-${i}`),
    ]);
    await topic.close();
  });
});

describe('LogTopic memory and retention', () => {
  it('holds record positions for the newest segment and the few sealed ones read last, not the whole log', async () => {
    // ~60-byte records in 600-byte segments: about 10 records a segment, 2,000 records ≈ 200 segments.
    const topic = await LogTopic.open(join(root, 'bounded'), 600, false, 2);
    for (let i = 0; i < 2_000; i += 100)
      await topic.append(Array.from({ length: 100 }, (_, j) => record(`v${String(i + j).padStart(5, '0')}`)));
    expect(topic.segmentCount).toBeGreaterThan(150);
    const values: string[] = [];
    for (let from = 0; from < topic.count; from += 37)
      values.push(...(await topic.read(from, 37)).map((r) => r.value));
    expect(values).toEqual(Array.from({ length: 2_000 }, (_, i) => `v${String(i).padStart(5, '0')}`));
    const perSegment = Math.ceil(2_000 / topic.segmentCount) + 1;
    // Newest segment + 2 sealed ones: a bound independent of the log's length (2,000 without it).
    expect(topic.indexedRecords).toBeLessThanOrEqual(3 * perSegment + 1);
    await topic.close();
  });

  it('reopens with every record readable while holding only the newest segment’s positions', async () => {
    const dir = join(root, 'reopen');
    const first = await LogTopic.open(dir, 600, false);
    await first.append(Array.from({ length: 300 }, (_, i) => record(`r${i}`)));
    await first.close();
    const topic = await LogTopic.open(dir, 600, false);
    expect(topic.count).toBe(300);
    expect(topic.indexedRecords).toBeLessThan(30);
    expect((await topic.read(150, 3)).map((r) => r.value)).toEqual(['r150', 'r151', 'r152']);
    await topic.close();
  });

  it('retires the sealed segments wholly below an offset, keeping the newest, and reads skip them', async () => {
    const dir = join(root, 'retire');
    const topic = await LogTopic.open(dir, 600, false);
    await topic.append(Array.from({ length: 300 }, (_, i) => record(`r${i}`)));
    const before = topic.segmentCount;
    expect(await topic.retire(150)).toBeGreaterThan(0);
    expect(topic.start).toBeLessThanOrEqual(150);
    expect(topic.start).toBeGreaterThan(100);
    expect(topic.segmentCount).toBeLessThan(before);
    expect((await readdir(dir)).filter((n) => n.endsWith('.log'))).toHaveLength(topic.segmentCount);
    expect((await topic.read(0, 1))[0]!.offset).toBe(topic.start);
    // Everything acknowledged: only the newest segment stays (appends continue there).
    await topic.retire(topic.count);
    expect(topic.segmentCount).toBe(1);
    expect(await topic.append([record('next')])).toEqual([300]);
    await topic.close();
  });
});
