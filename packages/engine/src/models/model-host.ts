import { type ModelRef, modelRefKey, type PinnedModel, SlateError } from '@slate/graph';
import type { ModelOutputRow, ModelProvider, ModelRow, Prediction } from '@slate/sdk';
import { type LoadedModel, loadOnnxModel } from './onnx-model.ts';

export interface ModelHostOptions {
  /** The deployment's pinned models, keyed by the reference resolvers use (`modelRefKey`). */
  readonly models: Readonly<Record<string, PinnedModel>>;
  /** Reads a pinned model's artifact bytes (the data plane's verified local copy). */
  readonly readArtifact: (pinned: PinnedModel) => Promise<Uint8Array>;
  /** Artifact bytes this host may hold loaded at once (default 256 MiB); past it, loading fails. */
  readonly maxLoadedBytes?: number;
  /** Rows per model run; larger batches run in several (default 1024). */
  readonly maxBatchRows?: number;
  /** Rows waiting for a model run, across callers; past it, predictions fail with `MODEL_QUEUE_FULL` (default 100k). */
  readonly maxQueuedRows?: number;
}

/** The model provider of one thread: each model loaded once, calls of a tick batched per model. */
export interface ModelHost extends ModelProvider {
  /** Versions loaded so far, by reference key. */
  loaded(): Record<string, number>;
  /** Model runs and rows run since the host started (batching shows as fewer runs than callers). */
  stats(): { runs: number; rows: number };
  close(): Promise<void>;
}

interface Waiting {
  readonly rows: readonly ModelRow[];
  resolve(rows: ModelOutputRow[]): void;
  reject(error: unknown): void;
}

/**
 * Runs a deployment's models inside one resolver worker. A model is loaded on first use and kept (one
 * onnxruntime session per worker); predictions requested in the same turn of the event loop (the rows of
 * one stage calling a resolver each) are checked one caller at a time, then run together as one batch,
 * so a bad row fails its own caller only while a model that throws fails the callers of that run.
 *
 * Memory is bounded three ways: loaded artifacts (`maxLoadedBytes`), rows per run (`maxBatchRows`) and
 * rows waiting (`maxQueuedRows`, refused past it); the worker's heap limit bounds the rest.
 *
 * @throws (from `predict`) SlateError not_found `MODEL_NOT_PINNED`; unavailable `MODEL_MEMORY_EXCEEDED`,
 *   `MODEL_QUEUE_FULL`; and `loadOnnxModel`'s and `LoadedModel.run`'s errors.
 */
export function createModelHost(options: ModelHostOptions): ModelHost {
  const maxLoaded = options.maxLoadedBytes ?? 256 * 1024 * 1024;
  const maxBatch = options.maxBatchRows ?? 1024;
  const maxQueued = options.maxQueuedRows ?? 100_000;
  const sessions = new Map<string, Promise<LoadedModel>>();
  const queues = new Map<string, Waiting[]>();
  let loadedBytes = 0;
  let queuedRows = 0;
  const stats = { runs: 0, rows: 0 };

  const session = (key: string, pinned: PinnedModel): Promise<LoadedModel> => {
    let found = sessions.get(key);
    if (!found) {
      // Two references (an alias and its version number) to the same artifact share one session.
      const same = [...sessions.entries()].find(([k]) => options.models[k]?.sha256 === pinned.sha256);
      if (same) found = same[1];
      else {
        if (loadedBytes + pinned.size > maxLoaded) {
          return Promise.reject(
            new SlateError(
              'unavailable',
              'MODEL_MEMORY_EXCEEDED',
              `loading ${pinned.name} v${pinned.version} (${pinned.size} bytes) would pass the worker's model memory of ${maxLoaded} bytes`,
              { model: pinned.name, version: pinned.version },
            ),
          );
        }
        loadedBytes += pinned.size;
        found = options.readArtifact(pinned).then((bytes) => loadOnnxModel(pinned, bytes));
        // A failed load is not cached: the next call tries again (a transient read error heals).
        found.catch(() => {
          loadedBytes -= pinned.size;
          sessions.delete(key);
        });
      }
      sessions.set(key, found);
    }
    return found;
  };

  const flush = async (key: string, pinned: PinnedModel) => {
    const waiting = queues.get(key) ?? [];
    queues.delete(key);
    for (const w of waiting) queuedRows -= w.rows.length;
    let loaded: LoadedModel;
    try {
      loaded = await session(key, pinned);
    } catch (error) {
      for (const w of waiting) w.reject(error);
      return;
    }
    const valid: Waiting[] = [];
    for (const w of waiting) {
      try {
        loaded.check(w.rows);
        valid.push(w);
      } catch (error) {
        w.reject(error);
      }
    }
    // Whole callers per run, up to maxBatch rows (a caller larger than that runs alone, in slices).
    let at = 0;
    while (at < valid.length) {
      const group: Waiting[] = [valid[at]!];
      let rows = valid[at]!.rows.length;
      at += 1;
      while (at < valid.length && rows + valid[at]!.rows.length <= maxBatch) {
        rows += valid[at]!.rows.length;
        group.push(valid[at]!);
        at += 1;
      }
      try {
        const all = group.flatMap((w) => w.rows);
        const out: ModelOutputRow[] = [];
        for (let start = 0; start < all.length; start += maxBatch) {
          const slice = all.slice(start, start + maxBatch);
          stats.runs += 1;
          stats.rows += slice.length;
          out.push(...(await loaded.run(slice)));
        }
        let offset = 0;
        for (const w of group) {
          w.resolve(out.slice(offset, offset + w.rows.length));
          offset += w.rows.length;
        }
      } catch (error) {
        for (const w of group) w.reject(error);
      }
    }
  };

  return {
    async predict(ref: ModelRef, rows: readonly ModelRow[]): Promise<Prediction> {
      const key = modelRefKey(ref);
      const pinned = options.models[key];
      if (!pinned) {
        throw new SlateError(
          'not_found',
          'MODEL_NOT_PINNED',
          `model ${key} is not part of this deployment (known: ${Object.keys(options.models).join(', ') || 'none'})`,
          { model: ref.name },
        );
      }
      if (!Array.isArray(rows)) {
        throw new SlateError('input', 'MODEL_INPUT_INVALID', `predict takes an array of rows for ${key}`);
      }
      if (rows.length === 0) return { rows: [], version: pinned.version };
      if (queuedRows + rows.length > maxQueued) {
        throw new SlateError(
          'unavailable',
          'MODEL_QUEUE_FULL',
          `${queuedRows} rows are already waiting for models in this worker (at most ${maxQueued})`,
        );
      }
      queuedRows += rows.length;
      const out = await new Promise<ModelOutputRow[]>((resolve, reject) => {
        let queue = queues.get(key);
        if (!queue) {
          queue = [];
          queues.set(key, queue);
          // After this turn's other callers (the rest of the stage's rows) have queued theirs.
          setImmediate(() => void flush(key, pinned));
        }
        queue.push({ rows, resolve, reject });
      });
      return { rows: out, version: pinned.version };
    },
    loaded() {
      const out: Record<string, number> = {};
      for (const key of sessions.keys()) out[key] = options.models[key]!.version;
      return out;
    },
    stats: () => ({ ...stats }),
    async close() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(
        all.map((p) =>
          p.then(
            (m) => m.close(),
            () => undefined,
          ),
        ),
      );
    },
  };
}
