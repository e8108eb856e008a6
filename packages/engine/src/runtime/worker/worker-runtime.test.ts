import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectGraph } from '@slate/sdk';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../engine.ts';
import * as hostile from './fixtures/hostile-repo.ts';
import { createWorkerRuntime } from './worker-runtime.ts';

const folder = mkdtempSync(join(tmpdir(), 'slate-worker-'));
let engine: Engine;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [new URL('./fixtures/hostile-repo.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
  });
  const bundlePath = join(folder, 'bundle.mjs');
  writeFileSync(bundlePath, bundle.outputFiles[0]!.contents);
  const runtime = await createWorkerRuntime({ bundlePath, workers: 1, memoryLimitMb: 64 });
  engine = createEngine({
    graph: collectGraph(hostile).artifact,
    runtime,
    environment: 'dev',
    deploymentId: 'c-hostile',
  });
});

afterAll(async () => {
  await engine?.close();
  rmSync(folder, { recursive: true, force: true });
});

const ask = async (output: string) => {
  const result = await engine.query({ inputs: { 'probe.id': [7] }, outputs: [output] });
  return { value: result.columns[0]!.values[0], error: result.columns[0]!.errors[0] };
};

describe('worker runtime isolation', () => {
  it('calls a batch resolver once with every row, across the thread boundary', async () => {
    const result = await engine.query({ inputs: { 'probe.id': [1, 2, 3] }, outputs: ['probe.batched'] });
    expect(result.columns[0]!.values).toEqual(['1 of 3', '2 of 3', '3 of 3']);
  });

  it('runs resolvers from a bundle', async () => {
    expect(await ask('probe.echo')).toEqual({ value: 'echo 7', error: null });
  });

  it('reports an exception with its kind and stack', async () => {
    const { error } = await ask('probe.boom');
    expect(error).toMatchObject({
      code: 'RESOLVER_FAILED',
      exception: { kind: 'RangeError', message: 'boom' },
    });
    expect(error?.exception?.stacktrace).toContain('RangeError: boom');
  });

  it('times out a resolver that never yields, replaces its worker, and keeps serving', async () => {
    const { error } = await ask('probe.spin');
    expect(error).toMatchObject({ code: 'RESOLVER_TIMED_OUT', resolver: 'spin' });
    await expect.poll(() => ask('probe.echo'), { timeout: 10_000 }).toEqual({ value: 'echo 7', error: null });
  });

  it('fails only the runaway resolver’s features when other resolvers of the query share its worker', async () => {
    // One worker: echo's call travels in the same message as spin's and is stranded when spin never yields.
    const result = await engine.query({ inputs: { 'probe.id': [7] }, outputs: ['probe.spin', 'probe.echo'] });
    const [spin, echo] = result.columns;
    expect(spin!.errors[0]).toMatchObject({ code: 'RESOLVER_TIMED_OUT', resolver: 'spin' });
    expect({ value: echo!.values[0], error: echo!.errors[0] }).toEqual({ value: 'echo 7', error: null });
  });

  it('survives a resolver calling process.exit', async () => {
    const { error } = await ask('probe.exit');
    expect(error).toMatchObject({ code: 'RESOLVER_FAILED' });
    expect(error?.message).toMatch(/exited with code 3/);
    await expect.poll(() => ask('probe.echo'), { timeout: 10_000 }).toEqual({ value: 'echo 7', error: null });
  });

  it('survives a resolver exhausting its heap', async () => {
    const { error } = await ask('probe.leak');
    expect(error).toMatchObject({ code: 'RESOLVER_FAILED' });
    await expect.poll(() => ask('probe.echo'), { timeout: 10_000 }).toEqual({ value: 'echo 7', error: null });
  });

  it('refuses a bundle that fails to load', async () => {
    const broken = join(folder, 'broken.mjs');
    writeFileSync(broken, 'throw new Error("cannot start");');
    await expect(createWorkerRuntime({ bundlePath: broken, workers: 1 })).rejects.toMatchObject({
      code: 'BUNDLE_LOAD_FAILED',
    });
  });
});
