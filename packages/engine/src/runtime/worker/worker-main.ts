/**
 * A resolver worker: loads one deployment's bundle and calls its resolvers on request. Runs in a worker
 * thread so that a resolver which loops, leaks or exits takes down only this thread.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { collectGraph, installModelProvider } from '@slate/sdk';
import { createModelHost } from '../../models/model-host.ts';
import { callResolver } from '../call-resolver.ts';
import { describeException } from '../resolver-runtime.ts';
import {
  type CallMessage,
  packResults,
  type ResultMessage,
  unpackCalls,
  type WorkerData,
  type WorkerReply,
  type WorkerRequest,
} from './worker-protocol.ts';

const port = parentPort!;
const { bundleUrl, secrets, models } = workerData as WorkerData;
const secretMap = new Map(Object.entries(secrets));

/** Results finished in the same tick, sent as one message. */
let outbox: ResultMessage[] = [];

function flush(): void {
  const results = outbox;
  outbox = [];
  try {
    port.postMessage(packResults(results) satisfies WorkerReply);
  } catch {
    // Outputs that cannot cross threads (functions, class instances with handles) fail their call alone.
    for (const result of results) {
      try {
        port.postMessage(packResults([result]) satisfies WorkerReply);
      } catch (thrown) {
        const error = describeException(thrown);
        const failed = result.outcomes.map(() => ({ ok: false as const, error }));
        port.postMessage(packResults([{ id: result.id, outcomes: failed }]) satisfies WorkerReply);
      }
    }
  }
}

function reply(result: ResultMessage): void {
  if (outbox.length === 0) queueMicrotask(flush);
  outbox.push(result);
}

if (models) {
  // Installed before the bundle loads; each model is read and checked on its first prediction, then kept.
  installModelProvider(
    createModelHost({
      models: models.pinned,
      maxLoadedBytes: models.maxLoadedBytes,
      readArtifact: async (pinned) => {
        const path = models.paths[pinned.sha256];
        if (!path) throw new Error(`no local copy of the artifact of ${pinned.name} v${pinned.version}`);
        return readFile(path);
      },
    }),
  );
}

try {
  const { functions } = collectGraph(await import(bundleUrl));
  const run = async (call: CallMessage) => {
    // A traced call is timed here, on the worker's own clock (the thread hop and any queueing excluded).
    const start = call.traceparent === undefined ? 0 : performance.timeOrigin + performance.now();
    const fn = functions.get(call.resolver);
    const outcomes = fn
      ? await callResolver(fn, call.rows, call.context, secretMap)
      : call.rows.map(() => ({
          ok: false as const,
          error: {
            kind: 'LookupError',
            message: `resolver ${call.resolver} is not in this deployment`,
            stacktrace: '',
          },
        }));
    if (call.traceparent === undefined) reply({ id: call.id, outcomes });
    else {
      const end = performance.timeOrigin + performance.now();
      reply({ id: call.id, outcomes, timing: { start, end, thread: threadId } });
    }
  };
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'ping') {
      port.postMessage({ type: 'pong', id: request.id } satisfies WorkerReply);
      return;
    }
    for (const call of unpackCalls(request)) void run(call);
  });
  port.postMessage({ type: 'ready', resolvers: [...functions.keys()] } satisfies WorkerReply);
} catch (thrown) {
  port.postMessage({ type: 'boot_error', error: describeException(thrown) } satisfies WorkerReply);
}
