import { mkdtemp, rm } from 'node:fs/promises';
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
  });
});
