import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzTargets, type FuzzTargets } from './fuzz-targets.ts';
import { runFuzz } from './run-fuzz.ts';

/**
 * The short, seeded fuzz run CI does on every change (the long one is `npm run fuzz`): generated requests
 * over every route of both planes. Pass: no 5xx, no request over 5 s, no prototype pollution, and the
 * process still here to say so.
 */
describe('fuzzing both planes (seed 20261207)', () => {
  let dir: string;
  let targets: FuzzTargets;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-fuzz-'));
    targets = await createFuzzTargets(dir);
  });
  afterAll(async () => {
    await targets?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every generated request without a 5xx, a hang or pollution', { timeout: 180_000 }, async () => {
    const report = await runFuzz(targets, { seed: 20261207, runs: 700, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    // The generator must reach every route and both outcomes, or it proves nothing.
    expect(report.routesHit).toBe(targets.routes.length);
    expect(report.statuses['200'] ?? 0).toBeGreaterThan(50);
    expect(report.statuses['400'] ?? 0).toBeGreaterThan(200);
  });
});
