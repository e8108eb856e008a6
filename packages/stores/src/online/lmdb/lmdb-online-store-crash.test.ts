import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLmdbOnlineStore, type LmdbDurability } from './lmdb-online-store.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'slate-lmdb-crash-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs the writer child until it has acknowledged `acks` batches, then SIGKILLs it mid-write and returns
 * the batches it acknowledged (all of them, including those acknowledged while the kill was on its way).
 */
function writeUntilKilled(path: string, durability: LmdbDurability, acks: number) {
  return new Promise<{ acked: number[]; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'lmdb-writer-child.ts'), path, durability],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acked: number[] = [];
    let output = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const match = /^ack (\d+)$/.exec(line);
        if (!match) continue;
        acked.push(Number(match[1]));
        if (acked.length === acks) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (_code, signal) => resolve({ acked, signal, output }));
  });
}

describe('createLmdbOnlineStore after a SIGKILL', () => {
  for (const durability of ['disk', 'process'] as const) {
    it(`keeps every acknowledged write (durability ${durability})`, { timeout: 60_000 }, async () => {
      const path = join(root, durability);
      for (let round = 0; round < 3; round += 1) {
        const { acked, signal, output } = await writeUntilKilled(path, durability, 40);
        expect(signal, output).toBe('SIGKILL');
        expect(acked.length).toBeGreaterThanOrEqual(40);
        const store = createLmdbOnlineStore({ path });
        await store.init();
        // Later rounds restart the batch numbers and overwrite the same keys with the same content.
        const keys = acked.flatMap((batch) =>
          Array.from({ length: 200 }, (_, i) => ({ feature: 'crash.value', pkey: `${batch}-${i}` })),
        );
        const values = await store.get('crash', keys);
        const missing = keys.filter((_, k) => values[k] === null);
        expect(missing).toEqual([]);
        keys.forEach((key, k) => {
          const [batch, i] = key.pkey.split('-').map(Number);
          expect(values[k]).toEqual({ value: { batch, i, pad: 'x'.repeat(100) }, observedAt: batch });
        });
        const [last] = await store.get('crash', [{ feature: 'crash.last', pkey: 0 }]);
        expect(last!.observedAt).toBeGreaterThanOrEqual(Math.max(...acked));
        await store.close();
      }
    });
  }
});
