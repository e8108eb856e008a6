import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SlateError } from '@slate/graph';
import { withTimeout } from '../call-resolver.ts';
import type {
  ResolverCall,
  ResolverException,
  ResolverOutcome,
  ResolverRuntime,
} from '../resolver-runtime.ts';
import type { CallMessage, WorkerData, WorkerReply, WorkerRequest } from './worker-protocol.ts';

export interface WorkerRuntimeOptions {
  /** Path of the deployment's ESM bundle. */
  readonly bundlePath: string;
  /** Worker threads in the pool (default 2). */
  readonly workers?: number;
  /** Heap limit per worker; a resolver that leaks past it fails its call and the worker restarts (default 512). */
  readonly memoryLimitMb?: number;
  readonly secrets?: Readonly<Record<string, string>>;
  /** How long a worker may stay unresponsive after a timeout before it is replaced (default 250 ms). */
  readonly livenessGraceMs?: number;
}

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
 * Runs a deployment's resolvers in a pool of worker threads. A resolver that throws fails its own rows; one
 * that loops forever, exhausts its heap or calls `process.exit` fails the calls on its worker, which is
 * replaced, and the server keeps serving.
 *
 * @throws SlateError `BUNDLE_LOAD_FAILED` (kind `input`) when the bundle does not load.
 * @example
 * const runtime = await createWorkerRuntime({ bundlePath: '/var/slate/bundles/abc.mjs' });
 */
export async function createWorkerRuntime(options: WorkerRuntimeOptions): Promise<ResolverRuntime> {
  const size = Math.max(1, options.workers ?? 2);
  const data: WorkerData = {
    bundleUrl: pathToFileURL(options.bundlePath).href,
    secrets: options.secrets ?? {},
  };
  const slots: PooledWorker[] = [];
  let closed = false;

  const spawn = (index: number): Promise<PooledWorker> =>
    startWorker(data, options.memoryLimitMb ?? 512, () => {
      // Replace a dead worker unless the pool is closing; failures to restart surface on the next call.
      if (!closed)
        spawn(index).then(
          (w) => (slots[index] = w),
          () => undefined,
        );
    });

  slots.push(...(await Promise.all(Array.from({ length: size }, (_, i) => spawn(i)))));

  return {
    async call(request: ResolverCall): Promise<ResolverOutcome[]> {
      const worker = slots.reduce((best, w) =>
        w.alive && (!best.alive || w.inflight < best.inflight) ? w : best,
      );
      const outcomes = await withTimeout(request.rows.length, request.timeoutMs, worker.call(request));
      if (outcomes.some((o) => !o.ok && o.timedOut) && !(await worker.ping(options.livenessGraceMs ?? 250))) {
        // The worker's event loop is stuck (a resolver loops): replace it; its other calls fail.
        worker.terminate('the resolver worker stopped responding and was restarted');
      }
      return outcomes;
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
  terminate(reason: string): Promise<void>;
}

function startWorker(data: WorkerData, memoryLimitMb: number, onDeath: () => void): Promise<PooledWorker> {
  const worker = new Worker(workerEntry.script, {
    eval: workerEntry.eval,
    workerData: data,
    resourceLimits: { maxOldGenerationSizeMb: memoryLimitMb },
  });
  const pending = new Map<number, (reply: WorkerReply) => void>();
  const failPending = new Map<number, (error: ResolverException) => void>();
  let nextId = 1;
  let alive = true;
  // Calls made in the same tick go to the worker as one message (see `WorkerRequest`).
  let outbox: CallMessage[] = [];
  const flush = () => {
    const calls = outbox;
    outbox = [];
    if (!alive) return;
    try {
      worker.postMessage((calls.length === 1 ? calls[0]! : { type: 'calls', calls }) satisfies WorkerRequest);
    } catch {
      // One call's inputs could not be cloned: send each alone, failing only the ones that cannot go.
      for (const call of calls) {
        try {
          worker.postMessage(call satisfies WorkerRequest);
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
      return new Promise<ResolverOutcome[]>((resolve) => {
        pending.set(id, (reply) => resolve(reply.type === 'result' ? [...reply.outcomes] : []));
        failPending.set(id, (error) => resolve(failAll(request.rows.length, error)));
        if (outbox.length === 0) queueMicrotask(flush);
        outbox.push({
          type: 'call',
          id,
          resolver: request.resolver,
          rows: request.rows,
          context: request.context,
        });
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
    async terminate(reason) {
      die({ kind: 'WorkerError', message: reason, stacktrace: '' });
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
        for (const one of reply.type === 'results' ? reply.results : [reply]) {
          const settle = pending.get(one.id);
          pending.delete(one.id);
          failPending.delete(one.id);
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

function failAll(rows: number, error: ResolverException): ResolverOutcome[] {
  return Array.from({ length: rows }, () => ({ ok: false as const, error }));
}
