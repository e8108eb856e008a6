import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Context, context, type Tracer, trace } from '@opentelemetry/api';
import { SlateError } from '@slate/graph';
import { traceparentOf } from '../../trace/traceparent.ts';
import { withTimeout } from '../call-resolver.ts';
import type {
  ResolverCall,
  ResolverException,
  ResolverOutcome,
  ResolverRuntime,
} from '../resolver-runtime.ts';
import {
  type CallMessage,
  packCalls,
  type ResultMessage,
  unpackResults,
  type WorkerData,
  type WorkerModels,
  type WorkerReply,
  type WorkerRequest,
  type WorkerTiming,
} from './worker-protocol.ts';

export interface WorkerRuntimeOptions {
  /** Path of the deployment's ESM bundle. */
  readonly bundlePath: string;
  /** Worker threads in the pool (default 2; never more than the machine's cores). */
  readonly workers?: number;
  /** Heap limit per worker; a resolver that leaks past it fails its call and the worker restarts (default 512). */
  readonly memoryLimitMb?: number;
  readonly secrets?: Readonly<Record<string, string>>;
  /** The deployment's pinned models; each worker loads one on first use and keeps it. */
  readonly models?: WorkerModels;
  /** How long a worker may stay unresponsive after a timeout before it is replaced (default 250 ms). */
  readonly livenessGraceMs?: number;
  /**
   * Carries a recorded (sampled) caller span into the worker: the call goes with its `traceparent`, the
   * worker times it on its thread, and a `slate.resolver.worker` child span is recorded from that timing.
   * Without a tracer, or for an unsampled call, nothing is added to the messages.
   */
  readonly tracer?: Tracer;
}

/** Name of the span recorded for the part of a resolver call spent in its worker thread. */
export const WORKER_SPAN = 'slate.resolver.worker';

/**
 * How a resolver worker starts. Compiled (`npm run build`), this module is part of a bundle one folder below
 * dist/ and the worker is dist/workers/resolver-worker.js. From the TypeScript sources (tests, development),
 * workers run worker-main.ts through tsx, resolved from here so any working directory works; a bootstrap
 * registers it first, since on Node 20 `--import` hooks do not apply to a worker's own entry module.
 */
const workerEntry: { readonly script: string | URL; readonly eval: boolean } = import.meta.url.endsWith('.ts')
  ? {
      script: `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker-main.ts', import.meta.url).href)}); });`,
      eval: true,
    }
  : { script: new URL('../workers/resolver-worker.js', import.meta.url), eval: false };

/**
 * Runs a deployment's resolvers in a pool of worker threads (no more than the machine's cores). The calls
 * of one plan stage travel to one worker as one message. A resolver that throws fails its own rows; one
 * that loops forever times out, its worker is replaced and the other calls stranded on it run once more on
 * a live worker, so it fails only its own features; one that exhausts its heap or calls `process.exit`
 * fails the calls on its worker (the culprit among them is unknown), which is replaced, and the server
 * keeps serving.
 *
 * @throws SlateError `BUNDLE_LOAD_FAILED` (kind `input`) when the bundle does not load.
 * @example
 * const runtime = await createWorkerRuntime({ bundlePath: '/var/slate/bundles/abc.mjs' });
 */
export async function createWorkerRuntime(options: WorkerRuntimeOptions): Promise<ResolverRuntime> {
  // More workers than cores only adds threads competing with the query server for the same cores.
  const size = Math.max(1, Math.min(options.workers ?? 2, availableParallelism()));
  const data: WorkerData = {
    bundleUrl: pathToFileURL(options.bundlePath).href,
    secrets: options.secrets ?? {},
    ...(options.models ? { models: options.models } : {}),
  };
  const slots: PooledWorker[] = [];
  let closed = false;

  const spawn = (index: number): Promise<PooledWorker> =>
    startWorker(data, options.memoryLimitMb ?? 512, options.tracer, () => {
      // Replace a dead worker unless the pool is closing; failures to restart surface on the next call.
      if (!closed)
        spawn(index).then(
          (w) => (slots[index] = w),
          () => undefined,
        );
    });

  slots.push(...(await Promise.all(Array.from({ length: size }, (_, i) => spawn(i)))));

  // Calls made in the same tick (a plan stage: every step whose inputs are ready) go to one worker, as one
  // message: one thread crossing each way per stage, not one per resolver or per worker. The next stage, or
  // another query's, goes to whichever worker then has the fewest calls in flight.
  let stageWorker: PooledWorker | undefined;
  const endStage = () => {
    stageWorker = undefined;
  };
  const workerForStage = (): PooledWorker => {
    if (stageWorker?.alive) return stageWorker;
    stageWorker = slots.reduce((best, w) =>
      w.alive && (!best.alive || w.inflight < best.inflight) ? w : best,
    );
    queueMicrotask(endStage);
    return stageWorker;
  };

  /** A live worker, waiting up to `waitMs` for a replacement when none is (a busy machine boots one slowly). */
  const liveWorker = async (waitMs: number): Promise<PooledWorker> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const worker = slots.find((w) => w.alive);
      if (worker || closed || Date.now() > deadline) return worker ?? slots[0]!;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const attempt = async (
    request: ResolverCall,
    worker: PooledWorker,
    timeoutMs: number | undefined,
  ): Promise<ResolverOutcome[]> => {
    const outcomes = await withTimeout(request.rows.length, timeoutMs, worker.call(request));
    if (outcomes.some((o) => !o.ok && o.timedOut) && !(await worker.ping(options.livenessGraceMs ?? 250))) {
      // The worker's event loop is stuck (a resolver loops): replace it. Its other calls are evicted and
      // run again elsewhere (`call`), so the runaway resolver fails only its own features.
      worker.terminate('the resolver worker stopped responding and was restarted', true);
    }
    return outcomes;
  };

  return {
    async call(request: ResolverCall): Promise<ResolverOutcome[]> {
      const started = Date.now();
      const first = await attempt(request, workerForStage(), request.timeoutMs);
      if (!isEvicted(first)) return first;
      // A bystander of a resolver that stopped responding (its call timed out, so the culprit is known): its
      // worker was replaced before it ran. It runs once more, on a live worker, in what is left of its time.
      const left = () =>
        request.timeoutMs === undefined ? undefined : request.timeoutMs - (Date.now() - started);
      const timedOut = () => {
        const message = `resolver timed out after ${request.timeoutMs} ms`;
        return failAll(request.rows.length, { kind: 'TimeoutError', message, stacktrace: '' }, true);
      };
      const worker = await liveWorker(left() ?? REPLACEMENT_WAIT_MS);
      const remaining = left();
      if (remaining !== undefined && remaining <= 0) return timedOut();
      const second = await attempt(request, worker, remaining);
      if (!isEvicted(second)) return second;
      const message = 'the resolver workers stopped responding and were restarted';
      return failAll(request.rows.length, { kind: 'WorkerError', message, stacktrace: '' });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((w) => w.terminate('the runtime was closed')));
    },
  };
}

interface PooledWorker {
  readonly alive: boolean;
  readonly inflight: number;
  call(request: ResolverCall): Promise<ResolverOutcome[]>;
  ping(graceMs: number): Promise<boolean>;
  /** Stops the worker; its pending calls fail, as evicted bystanders when `evict` (see `isEvicted`). */
  terminate(reason: string, evict?: boolean): Promise<void>;
}

/** How long a stranded call without a timeout waits for a replacement worker before it fails. */
const REPLACEMENT_WAIT_MS = 30_000;

/** The exception kind of a call failed only because its worker was replaced for another call's sake. */
const EVICTED = 'WorkerEvicted';

function isEvicted(outcomes: readonly ResolverOutcome[]): boolean {
  const first = outcomes[0];
  return first !== undefined && !first.ok && first.error.kind === EVICTED;
}

function startWorker(
  data: WorkerData,
  memoryLimitMb: number,
  tracer: Tracer | undefined,
  onDeath: () => void,
): Promise<PooledWorker> {
  const worker = new Worker(workerEntry.script, {
    eval: workerEntry.eval,
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb },
  });
  const pending = new Map<number, (result: ResultMessage | null) => void>();
  const failPending = new Map<number, (error: ResolverException) => void>();
  // Calls sent with a traceparent: the caller's context and resolver, until their result comes back.
  const traced = new Map<number, { readonly context: Context; readonly resolver: string }>();
  const traceparentFor = (id: number, resolver: string): string | undefined => {
    const active = context.active();
    const span = trace.getSpan(active);
    if (!span?.isRecording()) return undefined;
    traced.set(id, { context: active, resolver });
    return traceparentOf(span.spanContext());
  };
  const recordWorkerSpan = (id: number, timing: WorkerTiming | undefined) => {
    const call = traced.get(id);
    if (!call) return;
    traced.delete(id);
    if (!timing || !tracer) return;
    tracer
      .startSpan(
        WORKER_SPAN,
        {
          startTime: timing.start,
          attributes: { 'slate.resolver.fqn': call.resolver, 'thread.id': timing.thread },
        },
        call.context,
      )
      .end(timing.end);
  };
  let nextId = 1;
  let alive = true;
  // Calls made in the same tick go to the worker as one message (see `WorkerRequest`).
  let outbox: CallMessage[] = [];
  const flush = () => {
    const calls = outbox;
    outbox = [];
    if (!alive) return;
    try {
      worker.postMessage(packCalls(calls) satisfies WorkerRequest);
    } catch {
      // One call's inputs could not be cloned: send each alone, failing only the ones that cannot go.
      for (const call of calls) {
        try {
          worker.postMessage(packCalls([call]) satisfies WorkerRequest);
        } catch (thrown) {
          const fail = failPending.get(call.id);
          pending.delete(call.id);
          failPending.delete(call.id);
          fail?.({ kind: 'DataCloneError', message: String(thrown), stacktrace: '' });
        }
      }
    }
  };

  const die = (error: ResolverException) => {
    if (!alive) return;
    alive = false;
    for (const fail of failPending.values()) fail(error);
    pending.clear();
    failPending.clear();
    traced.clear();
    onDeath();
  };

  const pooled: PooledWorker = {
    get alive() {
      return alive;
    },
    get inflight() {
      return pending.size;
    },
    call(request) {
      if (!alive)
        return Promise.resolve(
          failAll(request.rows.length, {
            kind: 'WorkerError',
            message: 'no live resolver worker',
            stacktrace: '',
          }),
        );
      const id = nextId++;
      const traceparent = tracer ? traceparentFor(id, request.resolver) : undefined;
      return new Promise<ResolverOutcome[]>((resolve) => {
        pending.set(id, (result) => resolve(result ? [...result.outcomes] : []));
        failPending.set(id, (error) => {
          traced.delete(id);
          resolve(failAll(request.rows.length, error));
        });
        if (outbox.length === 0) queueMicrotask(flush);
        const call = { id, resolver: request.resolver, rows: request.rows, context: request.context };
        outbox.push(traceparent === undefined ? call : { ...call, traceparent });
      });
    },
    ping(graceMs) {
      if (!alive) return Promise.resolve(false);
      const id = nextId++;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          failPending.delete(id);
          resolve(false);
        }, graceMs);
        pending.set(id, () => {
          clearTimeout(timer);
          resolve(true);
        });
        failPending.set(id, () => {
          clearTimeout(timer);
          resolve(false);
        });
        worker.postMessage({ type: 'ping', id } satisfies WorkerRequest);
      });
    },
    async terminate(reason, evict = false) {
      die({ kind: evict ? EVICTED : 'WorkerError', message: reason, stacktrace: '' });
      await worker.terminate();
    },
  };

  return new Promise((resolve, reject) => {
    let booted = false;
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        booted = true;
        resolve(pooled);
      } else if (reply.type === 'boot_error') {
        alive = false;
        void worker.terminate();
        reject(
          new SlateError(
            'input',
            'BUNDLE_LOAD_FAILED',
            `the deployment bundle failed to load: ${reply.error.message}`,
            { exception: reply.error },
          ),
        );
      } else {
        const results = reply.type === 'results' ? unpackResults(reply) : [{ id: reply.id, outcomes: [] }];
        for (const one of results) {
          const settle = pending.get(one.id);
          pending.delete(one.id);
          failPending.delete(one.id);
          if (traced.size > 0) recordWorkerSpan(one.id, 'timing' in one ? one.timing : undefined);
          settle?.(one);
        }
      }
    });
    worker.on('error', (error) => {
      const exception = {
        kind: error.name,
        message: `the resolver worker crashed: ${error.message}`,
        stacktrace: error.stack ?? '',
      };
      if (!booted) {
        alive = false;
        reject(new SlateError('input', 'BUNDLE_LOAD_FAILED', exception.message, { exception }));
      } else die(exception);
    });
    worker.on('exit', (code) => {
      const exception = {
        kind: 'WorkerExit',
        message: `the resolver worker exited with code ${code}`,
        stacktrace: '',
      };
      if (!booted) {
        alive = false;
        reject(new SlateError('input', 'BUNDLE_LOAD_FAILED', exception.message));
      } else die(exception);
    });
  });
}

function failAll(rows: number, error: ResolverException, timedOut = false): ResolverOutcome[] {
  return Array.from({ length: rows }, () =>
    timedOut ? { ok: false as const, timedOut, error } : { ok: false as const, error },
  );
}
