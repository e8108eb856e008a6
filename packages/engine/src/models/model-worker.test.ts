import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelRefKey, type PinnedModel } from '@slate/graph';
import { collectGraph } from '@slate/sdk';
import { failingOnnxModel, linearOnnxModel, mlpOnnxModel } from '@slate/testing';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../engine.ts';
import { createWorkerRuntime } from '../runtime/worker/worker-runtime.ts';
import * as repo from './fixtures/model-repo.ts';
import { pinned } from './model-test-fixtures.ts';

const folder = mkdtempSync(join(tmpdir(), 'slate-models-'));
let engine: Engine;

const LINEAR = linearOnnxModel({ weights: [0.5, -2], bias: 1 });
const MLP = mlpOnnxModel({
  w1: [
    [1, -1],
    [2, 0.5],
  ],
  b1: [0, 1],
  w2: [1, 2],
  b2: -1,
});
const FAILING = failingOnnxModel(2);

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL('./fixtures/model-repo.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
  });
  const bundlePath = join(folder, 'bundle.mjs');
  writeFileSync(bundlePath, bundle.outputFiles[0]!.contents);
  const models: [string, PinnedModel, Uint8Array][] = [
    [
      modelRefKey({ name: 'fraud_model', alias: 'production' }),
      pinned('fraud_model', 4, LINEAR, 2, 'production'),
      LINEAR,
    ],
    [modelRefKey({ name: 'risk_model', version: 1 }), pinned('risk_model', 1, MLP), MLP],
    [modelRefKey({ name: 'broken_model', alias: 'production' }), pinned('broken_model', 1, FAILING), FAILING],
  ];
  const paths: Record<string, string> = {};
  for (const [, p, bytes] of models) {
    paths[p.sha256] = join(folder, `${p.sha256}.onnx`);
    writeFileSync(paths[p.sha256]!, bytes);
  }
  const runtime = await createWorkerRuntime({
    bundlePath,
    workers: 1,
    memoryLimitMb: 128,
    models: { pinned: Object.fromEntries(models.map(([k, p]) => [k, p])), paths },
  });
  engine = createEngine({
    graph: collectGraph(repo).artifact,
    runtime,
    environment: 'dev',
    deploymentId: 'c-models',
  });
});

afterAll(async () => {
  await engine?.close();
  rmSync(folder, { recursive: true, force: true });
});

const AMOUNTS = [1, 3, 0.5, 10];
const AGES = [2, -4, 0.25, 7];
const query = (outputs: string[]) =>
  engine.query({ inputs: { 'txn.amount': AMOUNTS, 'txn.age': AGES }, outputs });

describe('models in resolver workers', () => {
  it('computes model features in the worker, matching the arithmetic done by hand', async () => {
    const result = await query(['txn.score', 'txn.risk', 'txn.batch_score']);
    const [score, risk, batch] = result.columns;
    AMOUNTS.forEach((a, i) => {
      const b = AGES[i]!;
      expect(score!.values[i] as number).toBeCloseTo(0.5 * a - 2 * b + 1, 5);
      expect(batch!.values[i] as number).toBeCloseTo(0.5 * a - 2 * b + 1, 5);
      const h = [Math.max(0, a + 2 * b), Math.max(0, -a + 0.5 * b + 1)];
      expect(risk!.values[i] as number).toBeCloseTo(h[0]! + 2 * h[1]! - 1, 5);
    });
    expect(score!.errors.every((e) => e === null)).toBe(true);
  });

  it('fails only the features of a model that throws, a bad input shape or an unpinned model', async () => {
    const result = await query(['txn.broken', 'txn.bad_shape', 'txn.unpinned', 'txn.score']);
    const [broken, badShape, unpinned, score] = result.columns;
    expect(broken!.errors[0]).toMatchObject({ code: 'RESOLVER_FAILED', exception: { kind: 'SlateError' } });
    expect(broken!.errors[0]!.exception!.message).toContain('broken_model v1 failed');
    expect(badShape!.errors[0]!.exception!.message).toContain('input x takes 2 value(s) per row');
    expect(unpinned!.errors[0]!.exception!.message).toContain('nowhere_model@production is not part of');
    expect(score!.values[0] as number).toBeCloseTo(0.5 * 1 - 2 * 2 + 1, 5);
    // The worker survived all of it and keeps serving.
    const again = await query(['txn.score']);
    expect(again.columns[0]!.errors.every((e) => e === null)).toBe(true);
  });
});
