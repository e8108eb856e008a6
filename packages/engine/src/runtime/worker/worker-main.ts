/**
 * A resolver worker: loads one deployment's bundle and calls its resolvers on request. Runs in a worker
 * thread so that a resolver which loops, leaks or exits takes down only this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { collectGraph } from '@slate/sdk';
import { callResolver } from '../call-resolver.ts';
import { describeException } from '../resolver-runtime.ts';
import type { WorkerData, WorkerReply, WorkerRequest } from './worker-protocol.ts';

const port = parentPort!;
const { bundleUrl, secrets } = workerData as WorkerData;
const secretMap = new Map(Object.entries(secrets));

try {
  const { functions } = collectGraph(await import(bundleUrl));
  port.on('message', async (request: WorkerRequest) => {
    if (request.type === 'ping') {
      port.postMessage({ type: 'pong', id: request.id } satisfies WorkerReply);
      return;
    }
    const fn = functions.get(request.resolver);
    const outcomes = fn
      ? await callResolver(fn, request.rows, request.context, secretMap)
      : request.rows.map(() => ({
          ok: false as const,
          error: {
            kind: 'LookupError',
            message: `resolver ${request.resolver} is not in this deployment`,
            stacktrace: '',
          },
        }));
    try {
      port.postMessage({ type: 'result', id: request.id, outcomes } satisfies WorkerReply);
    } catch (thrown) {
      // Outputs that cannot cross threads (functions, class instances with handles) fail the call alone.
      const error = describeException(thrown);
      const failed = request.rows.map(() => ({ ok: false as const, error }));
      port.postMessage({ type: 'result', id: request.id, outcomes: failed } satisfies WorkerReply);
    }
  });
  port.postMessage({ type: 'ready', resolvers: [...functions.keys()] } satisfies WorkerReply);
} catch (thrown) {
  port.postMessage({ type: 'boot_error', error: describeException(thrown) } satisfies WorkerReply);
}
