import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzTargets, type FuzzTargets } from './fuzz-targets.ts';
import { runGrpcFuzz } from './grpc-fuzz.ts';
import { grpcFuzzTargets } from './grpc-fuzz-targets.ts';
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
    const report = await runFuzz(targets, { seed: 20261207, runs: 1_200, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    // The generator must reach every route and both outcomes, or it proves nothing.
    expect(report.routesHit).toBe(targets.routes.length);
    expect(targets.routes.filter((route) => route.plane === 'api').length).toBeGreaterThanOrEqual(18);
    expect(report.statuses['200'] ?? 0).toBeGreaterThan(50);
    expect(report.statuses['400'] ?? 0).toBeGreaterThan(200);
  });

  it("answers every generated gRPC call on the data plane's port without UNKNOWN, INTERNAL or a hang", {
    timeout: 180_000,
  }, async () => {
    const { dataPlane } = grpcFuzzTargets(targets.production);
    const report = await runGrpcFuzz(dataPlane, { seed: 20261207, runs: 600, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    expect(report.aliveAfter).toBe(true);
    expect(report.methodsHit).toBe(dataPlane.methods.length);
    // Both outcomes, or it proves nothing: answered calls (gRPC OK, Connect 200) and refused ones
    // (INVALID_ARGUMENT).
    expect((report.statuses['grpc 0'] ?? 0) + (report.statuses['connect ok'] ?? 0)).toBeGreaterThan(20);
    expect(report.statuses['grpc 3'] ?? 0).toBeGreaterThan(20);
  });

  it("answers every generated call on the API host's gRPC port (GetToken, forwarded queries) without a fault", {
    timeout: 180_000,
  }, async () => {
    const { apiHost } = grpcFuzzTargets(targets.production);
    const report = await runGrpcFuzz(apiHost, { seed: 20261208, runs: 400, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    expect(report.aliveAfter).toBe(true);
    expect(report.methodsHit).toBe(apiHost.methods.length);
    expect((report.statuses['grpc 0'] ?? 0) + (report.statuses['connect ok'] ?? 0)).toBeGreaterThan(20);
    expect(report.statuses['grpc 3'] ?? 0).toBeGreaterThan(10);
  });

  it("answers every generated GetToken call over Connect and gRPC-Web on the API host's HTTP port", {
    timeout: 120_000,
  }, async () => {
    const { apiHostHttp } = grpcFuzzTargets(targets.production);
    const report = await runGrpcFuzz(apiHostHttp, { seed: 20261209, runs: 200, maxMs: 5_000 });
    expect(report.failures).toEqual([]);
    expect(report.aliveAfter).toBe(true);
    expect(report.methodsHit).toBe(1);
    // Refused as bad input (Connect invalid_argument, gRPC-Web 3) and as bad credentials or over the limit.
    expect(
      (report.statuses['connect invalid_argument'] ?? 0) + (report.statuses['grpc 3'] ?? 0),
    ).toBeGreaterThan(10);
  });
});
