import type { ModelRef, PinnedModel } from '@slate/graph';
import { failingOnnxModel, linearOnnxModel, mlpOnnxModel } from '@slate/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelHost, type ModelHost } from './model-host.ts';
import { pinned } from './model-test-fixtures.ts';

const LINEAR = linearOnnxModel({ weights: [0.5, -2], bias: 1 });
const LOGISTIC = linearOnnxModel({ weights: [0.25, 0.75], bias: -1, sigmoid: true });
const MLP = mlpOnnxModel({
  w1: [
    [1, -1, 0.5],
    [2, 0.5, -1],
  ],
  b1: [0, 1, 0.25],
  w2: [1, 2, -3],
  b2: -1,
});
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const relu = (v: number) => Math.max(0, v);

let host: ModelHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

function hostOf(
  models: Record<string, [PinnedModel, Uint8Array]>,
  options: { maxLoadedBytes?: number } = {},
) {
  const reads: string[] = [];
  host = createModelHost({
    models: Object.fromEntries(Object.entries(models).map(([k, [p]]) => [k, p])),
    readArtifact: async (p) => {
      reads.push(p.name);
      return Object.values(models).find(([q]) => q.sha256 === p.sha256)![1];
    },
    ...options,
  });
  return { host, reads };
}

const ref = (name: string, alias = 'production'): ModelRef => ({ name, alias });

describe('model host', () => {
  it('runs a linear, a logistic and an MLP model, matching the arithmetic done by hand', async () => {
    const { host } = hostOf({
      'lin@production': [pinned('lin', 3, LINEAR), LINEAR],
      'logit@production': [pinned('logit', 1, LOGISTIC), LOGISTIC],
      'mlp@production': [pinned('mlp', 1, MLP), MLP],
    });
    const rows = [{ x: [1, 2] }, { x: [3, -4] }, { x: [0.5, 0.25] }];
    const lin = await host.predict(ref('lin'), rows);
    expect(lin.version).toBe(3);
    const byHand = rows.map(({ x }) => 0.5 * x[0]! - 2 * x[1]! + 1);
    for (const [i, row] of lin.rows.entries()) expect(row.y as number).toBeCloseTo(byHand[i]!, 5);

    const logit = await host.predict(ref('logit'), rows);
    for (const [i, row] of logit.rows.entries()) {
      expect(row.y as number).toBeCloseTo(sigmoid(0.25 * rows[i]!.x[0]! + 0.75 * rows[i]!.x[1]! - 1), 5);
    }

    const mlp = await host.predict(ref('mlp'), rows);
    mlp.rows.forEach((row, i) => {
      const [a, b] = rows[i]!.x as [number, number];
      const h = [relu(a * 1 + b * 2 + 0), relu(a * -1 + b * 0.5 + 1), relu(a * 0.5 + b * -1 + 0.25)];
      expect(row.y as number).toBeCloseTo(h[0]! * 1 + h[1]! * 2 + h[2]! * -3 - 1, 5);
    });
  });

  it('loads a model once and batches the predictions of one turn into one run', async () => {
    const { host, reads } = hostOf({ 'lin@production': [pinned('lin', 1, LINEAR), LINEAR] });
    const calls = Array.from({ length: 50 }, (_, i) => host.predict(ref('lin'), [{ x: [i, 1] }]));
    const results = await Promise.all(calls);
    for (const [i, r] of results.entries()) expect(r.rows[0]!.y as number).toBeCloseTo(0.5 * i - 2 + 1, 5);
    await host.predict(ref('lin'), [{ x: [0, 0] }]);
    expect(reads).toEqual(['lin']);
    expect(host.stats()).toEqual({ runs: 2, rows: 51 });
  });

  it('fails only the caller whose rows do not fit the signature, with MODEL_INPUT_INVALID', async () => {
    const { host } = hostOf({ 'lin@production': [pinned('lin', 1, LINEAR), LINEAR] });
    const [good, wide, missing, text] = await Promise.allSettled([
      host.predict(ref('lin'), [{ x: [1, 1] }]),
      host.predict(ref('lin'), [{ x: [1, 2, 3] }]),
      host.predict(ref('lin'), [{ z: [1, 2] }]),
      host.predict(ref('lin'), [{ x: ['a', 2] }]),
    ]);
    expect(good).toMatchObject({ status: 'fulfilled' });
    for (const bad of [wide, missing, text]) {
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'MODEL_INPUT_INVALID' } });
    }
    expect((wide as PromiseRejectedResult).reason.details).toMatchObject({ expected: 2, actual: 3 });
  });

  it('refuses a corrupted artifact at load with MODEL_ARTIFACT_CORRUPT, and names unknown models', async () => {
    const tampered = Uint8Array.from(LINEAR);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    host = createModelHost({
      models: { 'lin@production': pinned('lin', 1, LINEAR) },
      readArtifact: async () => tampered,
    });
    await expect(host.predict(ref('lin'), [{ x: [1, 1] }])).rejects.toMatchObject({
      code: 'MODEL_ARTIFACT_CORRUPT',
    });
    await expect(host.predict(ref('other'), [{ x: [1, 1] }])).rejects.toMatchObject({
      code: 'MODEL_NOT_PINNED',
    });
    await expect(host.predict({ name: 'lin', version: 9 }, [{ x: [1, 1] }])).rejects.toMatchObject({
      code: 'MODEL_NOT_PINNED',
    });
  });

  it('fails the callers of a model that throws, and keeps serving the others', async () => {
    const failing = failingOnnxModel(2);
    const { host } = hostOf({
      'bad@production': [pinned('bad', 1, failing, 2), failing],
      'lin@production': [pinned('lin', 1, LINEAR), LINEAR],
    });
    const [bad, good] = await Promise.allSettled([
      host.predict(ref('bad'), [{ x: [1, 1] }]),
      host.predict(ref('lin'), [{ x: [1, 1] }]),
    ]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'MODEL_RUN_FAILED' } });
    expect((bad as PromiseRejectedResult).reason.message).toContain('Reshape');
    expect(good).toMatchObject({ status: 'fulfilled' });
  });

  it('bounds loaded model memory: a model past the budget fails with MODEL_MEMORY_EXCEEDED', async () => {
    const { host } = hostOf(
      {
        'lin@production': [pinned('lin', 1, LINEAR), LINEAR],
        'mlp@production': [pinned('mlp', 1, MLP), MLP],
      },
      { maxLoadedBytes: LINEAR.byteLength + 10 },
    );
    await host.predict(ref('lin'), [{ x: [1, 1] }]);
    await expect(host.predict(ref('mlp'), [{ x: [1, 1] }])).rejects.toMatchObject({
      code: 'MODEL_MEMORY_EXCEEDED',
    });
    expect((await host.predict(ref('lin'), [{ x: [2, 2] }])).rows[0]!.y as number).toBeCloseTo(-2, 5);
  });
});
