import { type ModelRef, ModelRefSchema, SlateError } from '@slate/graph';

/** One row a model reads: a value per input tensor name (a number, or an array for a wider input). */
export type ModelRow = Readonly<Record<string, number | boolean | string | readonly unknown[]>>;
/** One row a model produced: a value per output tensor name (a number, or an array for a wider output). */
export type ModelOutputRow = Readonly<Record<string, number | boolean | string | unknown[]>>;

/** The rows of a prediction, plus the model version that made it. */
export interface Prediction<O = ModelOutputRow> {
  readonly rows: O[];
  /** The registered version that ran (the alias pinned by the deployment). */
  readonly version: number;
}

/**
 * Where predictions run: installed by the runtime that calls resolvers (a resolver worker holds each
 * model loaded once; tests install one in process). Resolvers never see it; they use `model()` handles.
 */
export interface ModelProvider {
  predict(ref: ModelRef, rows: readonly ModelRow[]): Promise<Prediction>;
}

const PROVIDER = Symbol.for('slate.modelProvider');

/** Installs the process's (worker's) model provider; `null` removes it. */
export function installModelProvider(provider: ModelProvider | null): void {
  (globalThis as Record<symbol, unknown>)[PROVIDER] = provider ?? undefined;
}

function provider(): ModelProvider {
  const found = (globalThis as Record<symbol, unknown>)[PROVIDER] as ModelProvider | undefined;
  if (!found) {
    throw new SlateError(
      'unavailable',
      'MODEL_RUNTIME_UNAVAILABLE',
      'models run inside resolver workers of a deployment; none is installed here',
    );
  }
  return found;
}

/**
 * A typed handle on a registered model. `I` and `O` type the rows in and out (write them by hand from the
 * registered signature, or let `slate codegen` do it); the runtime checks every batch against the
 * signature of the version it runs, so a mismatch is the error `MODEL_INPUT_INVALID`, never garbage.
 */
export interface ModelHandle<I extends ModelRow = ModelRow, O extends ModelOutputRow = ModelOutputRow> {
  readonly kind: 'model';
  readonly ref: ModelRef;
  /**
   * Runs the model on a batch of rows, one output row per input row, in order. Calls made by a stage's
   * rows at the same time are batched into one model run. Throws (failing the calling resolver's rows
   * only) when the model fails or the rows do not fit its signature.
   */
  predict(rows: readonly I[]): Promise<O[]>;
  /** `predict` plus the version that ran. */
  predictWithVersion(rows: readonly I[]): Promise<Prediction<O>>;
}

/**
 * Names a registered model for resolvers. By alias (`production`, `staging`), the version is the one the
 * alias pointed at when the deployment was made: moving the alias takes a new deployment. By `version`,
 * exactly that version.
 *
 * @throws SlateError input `INVALID_MODEL_REF` for a malformed name or alias.
 * @example
 * export const fraudModel = model<{ x: number[] }, { y: number }>('fraud_model', { alias: 'production' });
 * export const score = resolver(
 *   { inputs: { amount: Txn.amount, age: Txn.account_age }, outputs: [Txn.fraud_score] },
 *   async ({ amount, age }) => {
 *     const [out] = await fraudModel.predict([{ x: [amount, age] }]);
 *     return { fraud_score: out!.y };
 *   },
 * );
 */
export function model<I extends ModelRow = ModelRow, O extends ModelOutputRow = ModelOutputRow>(
  name: string,
  options: { readonly alias: string } | { readonly version: number } = { alias: 'production' },
): ModelHandle<I, O> {
  const parsed = ModelRefSchema.safeParse({ name, ...options });
  if (!parsed.success) {
    throw new SlateError(
      'input',
      'INVALID_MODEL_REF',
      `invalid model reference ${name}: ${parsed.error.message}`,
    );
  }
  const ref = parsed.data;
  const predictWithVersion = async (rows: readonly I[]) =>
    (await provider().predict(ref, rows)) as unknown as Prediction<O>;
  const handle: ModelHandle<I, O> = {
    kind: 'model',
    ref,
    predictWithVersion,
    predict: async (rows) => (await predictWithVersion(rows)).rows,
  };
  handles.add(handle);
  return handle;
}

/**
 * Handles made by `model()`: recognised by identity, never by reading properties (feature classes throw on
 * unknown ones); one set per realm, shared by every copy of this module (a bundle carries its own).
 */
const HANDLES = Symbol.for('slate.modelHandles');
const realm = globalThis as Record<symbol, unknown>;
if (!(realm[HANDLES] instanceof WeakSet)) realm[HANDLES] = new WeakSet<object>();
const handles = realm[HANDLES] as WeakSet<object>;

/** Whether `value` is a handle made by `model()`. */
export function isModelHandle(value: unknown): value is ModelHandle {
  return typeof value === 'object' && value !== null && handles.has(value);
}
