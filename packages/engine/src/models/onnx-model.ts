import { createHash } from 'node:crypto';
import { type ModelTensor, type PinnedModel, SlateError } from '@slate/graph';
import type { ModelOutputRow, ModelRow } from '@slate/sdk';
import * as ort from 'onnxruntime-node';

/** A model version loaded in this thread: one onnxruntime session, reused by every call. */
export interface LoadedModel {
  readonly name: string;
  readonly version: number;
  readonly bytes: number;
  /** Checks the rows against the signature (throws `MODEL_INPUT_INVALID`), runs the model once. */
  run(rows: readonly ModelRow[]): Promise<ModelOutputRow[]>;
  /** Checks rows against the signature without running anything. */
  check(rows: readonly ModelRow[]): void;
  close(): Promise<void>;
}

type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string';

/**
 * Loads an ONNX artifact after checking it is the pinned version's bytes (sha256 and size).
 *
 * Sessions are single-threaded (`intraOpNumThreads: 1`: the worker pool is the parallelism) and skip
 * onnxruntime's growing CPU memory arena, so a worker's native memory stays close to its models' sizes.
 *
 * @throws SlateError input `MODEL_ARTIFACT_CORRUPT` when the bytes are not the pinned artifact;
 *   input `MODEL_LOAD_FAILED` when onnxruntime refuses the model;
 *   input `MODEL_SIGNATURE_MISMATCH` when the model's inputs/outputs are not the registered ones.
 */
export async function loadOnnxModel(pinned: PinnedModel, bytes: Uint8Array): Promise<LoadedModel> {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== pinned.sha256 || bytes.byteLength !== pinned.size) {
    throw new SlateError(
      'input',
      'MODEL_ARTIFACT_CORRUPT',
      `the artifact of ${pinned.name} v${pinned.version} hashes to ${actual} (${bytes.byteLength} bytes), not ${pinned.sha256} (${pinned.size} bytes); refusing to load it`,
      { model: pinned.name, version: pinned.version, expected: pinned.sha256, actual },
    );
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      enableCpuMemArena: false,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
    });
  } catch (thrown) {
    throw new SlateError(
      'input',
      'MODEL_LOAD_FAILED',
      `onnxruntime could not load ${pinned.name} v${pinned.version}: ${String(thrown)}`,
      { model: pinned.name, version: pinned.version },
    );
  }
  const missing = [
    ...pinned.inputs.filter((t) => !session.inputNames.includes(t.name)).map((t) => `input ${t.name}`),
    ...pinned.outputs.filter((t) => !session.outputNames.includes(t.name)).map((t) => `output ${t.name}`),
    ...session.inputNames.filter((n) => !pinned.inputs.some((t) => t.name === n)).map((n) => `input ${n}`),
  ];
  if (missing.length > 0) {
    await session.release();
    throw new SlateError(
      'input',
      'MODEL_SIGNATURE_MISMATCH',
      `${pinned.name} v${pinned.version} does not match its registered signature: ${missing.join(', ')}`,
      { model: pinned.name, version: pinned.version },
    );
  }
  const where = `${pinned.name} v${pinned.version}`;
  const check = (rows: readonly ModelRow[]) => {
    for (const spec of pinned.inputs) {
      for (const [i, row] of rows.entries()) flatValue(spec, row, i, where);
    }
  };
  return {
    name: pinned.name,
    version: pinned.version,
    bytes: bytes.byteLength,
    check,
    async run(rows) {
      if (rows.length === 0) return [];
      const feeds: Record<string, ort.Tensor> = {};
      for (const spec of pinned.inputs) feeds[spec.name] = inputTensor(spec, rows, where);
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(
          feeds,
          pinned.outputs.map((o) => o.name),
        );
      } catch (thrown) {
        throw new SlateError('internal', 'MODEL_RUN_FAILED', `${where} failed: ${firstLine(thrown)}`, {
          model: pinned.name,
          version: pinned.version,
        });
      }
      const out: Record<string, unknown>[] = rows.map(() => ({}));
      for (const spec of pinned.outputs) splitOutput(spec.name, results[spec.name]!, rows.length, out, where);
      return out as ModelOutputRow[];
    },
    close: () => session.release(),
  };
}

function firstLine(thrown: unknown): string {
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  // onnxruntime's messages repeat themselves with log prefixes and colour codes after the first line.
  const line = text.split('\n')[0] ?? text;
  const colour = line.indexOf('\u001b');
  return (colour > 0 ? line.slice(0, colour) : line).slice(0, 500);
}

/** The number of values one row holds for a tensor: the product of its dimensions after the batch. */
function widthOf(spec: ModelTensor): number {
  let width = 1;
  for (const dim of spec.shape.slice(1)) {
    if (typeof dim !== 'number') return -1;
    width *= dim;
  }
  return width;
}

function invalid(where: string, message: string, details: Record<string, unknown>): SlateError {
  return new SlateError('input', 'MODEL_INPUT_INVALID', `${where}: ${message}`, details);
}

/** One row's values for `spec`, flattened, checked for count and type. */
function flatValue(spec: ModelTensor, row: ModelRow, index: number, where: string): unknown[] {
  const width = widthOf(spec);
  const value = row[spec.name];
  if (value === undefined || value === null) {
    throw invalid(where, `row ${index} has no value for input ${spec.name}`, {
      input: spec.name,
      row: index,
    });
  }
  const flat = Array.isArray(value) ? (value as unknown[]).flat(8) : [value];
  if (width >= 0 && flat.length !== width) {
    throw invalid(
      where,
      `input ${spec.name} takes ${width} value(s) per row (shape [${spec.shape.join(', ')}]); row ${index} has ${flat.length}`,
      { input: spec.name, row: index, expected: width, actual: flat.length },
    );
  }
  const ok = (v: unknown) =>
    spec.type === 'string'
      ? typeof v === 'string'
      : spec.type === 'bool'
        ? typeof v === 'boolean'
        : typeof v === 'number' &&
          Number.isFinite(v) &&
          (!spec.type.startsWith('int') || Number.isInteger(v));
  const bad = flat.find((v) => !ok(v));
  if (bad !== undefined || flat.some((v) => v === undefined || v === null)) {
    throw invalid(where, `input ${spec.name} of row ${index} holds ${String(bad)}, not ${spec.type}`, {
      input: spec.name,
      row: index,
    });
  }
  return flat;
}

function inputTensor(spec: ModelTensor, rows: readonly ModelRow[], where: string): ort.Tensor {
  const flat = rows.flatMap((row, i) => flatValue(spec, row, i, where));
  const width = flat.length / rows.length;
  const fixed = spec.shape.slice(1);
  const dims = fixed.every((d) => typeof d === 'number')
    ? [rows.length, ...(fixed as number[])]
    : [rows.length, width];
  const type = spec.type as TensorType;
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(flat as number[]), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(flat as number[]), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(flat as number[]), dims);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from((flat as number[]).map((v) => BigInt(v))), dims);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from((flat as boolean[]).map((v) => (v ? 1 : 0))), dims);
    case 'string':
      return new ort.Tensor('string', flat as string[], dims);
  }
}

function splitOutput(
  name: string,
  tensor: ort.Tensor,
  rows: number,
  out: Record<string, unknown>[],
  where: string,
): void {
  const data = tensor.data as ArrayLike<number | bigint | string | boolean>;
  if (tensor.dims[0] !== rows || data.length % rows !== 0) {
    throw new SlateError(
      'internal',
      'MODEL_OUTPUT_INVALID',
      `${where}: output ${name} has shape [${tensor.dims.join(', ')}] for ${rows} rows`,
    );
  }
  const width = data.length / rows;
  const scalar = (v: number | bigint | string | boolean) =>
    typeof v === 'bigint' ? Number(v) : tensor.type === 'bool' ? Boolean(v) : v;
  for (let r = 0; r < rows; r++) {
    if (width === 1) out[r]![name] = scalar(data[r]!);
    else {
      const values: unknown[] = [];
      for (let k = 0; k < width; k++) values.push(scalar(data[r * width + k]!));
      out[r]![name] = values;
    }
  }
}
