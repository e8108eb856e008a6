import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzTargets, type FuzzTargets } from './fuzz-targets.ts';
import { GRPC_METHOD_COUNT, runGrpcFuzz } from './grpc-fuzz.ts';
import { runFuzz } from './run-fuzz.ts';

/**
 * The short, seeded fuzz run CI does on every change (the long one is `npm run fuzz`): generated requests
 * over every route of both planes, the API host's forwarded routes (through a real data plane) and every
 * gRPC method. Pass: no 5xx (gRPC: no UNKNOWN or INTERNAL), no request over 5 s, no prototype pollution,
 * and the processes still here to say so.
 */
describe('fuzzing both planes (seed 20261207)', () => {
  let dir: string;
  let targets: FuzzTargets;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slate-fuzz-'));
    targets = await createFuzzTargets(dir);
  }, 300_000);
  afterAll(async () => {
    await targets?.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it('answers every generated request without a 5xx, a hang or pollution', { timeout: 240_000 }, async () => {
    const report = await runFuzz(targets, { seed: 20261207, runs: 900, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    // The generator must reach every route and both outcomes, or it proves nothing.
    expect(report.routesHit).toBe(targets.routes.length);
    expect(targets.routes.filter((route) => route.plane === 'api').length).toBeGreaterThanOrEqual(18);
    expect(report.statuses['200'] ?? 0).toBeGreaterThan(50);
    expect(report.statuses['400'] ?? 0).toBeGreaterThan(200);
  });

  it('answers every generated gRPC call without UNKNOWN, INTERNAL or a hang', {
    timeout: 180_000,
  }, async () => {
    const { grpcAuthority, token } = targets.production;
    const report = await runGrpcFuzz(grpcAuthority, token, { seed: 20261207, runs: 600, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    expect(report.aliveAfter).toBe(true);
    expect(report.methodsHit).toBe(GRPC_METHOD_COUNT);
    // Both outcomes, or it proves nothing: answered calls (gRPC OK, Connect 200) and refused ones
    // (INVALID_ARGUMENT).
    expect((report.statuses['grpc 0'] ?? 0) + (report.statuses['connect ok'] ?? 0)).toBeGreaterThan(20);
    expect(report.statuses['grpc 3'] ?? 0).toBeGreaterThan(20);
  });
});
