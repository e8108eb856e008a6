import type { PinnedModel } from '@slate/graph';
import type { CallContext, ResolverException, ResolverOutcome } from '../resolver-runtime.ts';

/** The deployment's pinned models as a worker loads them. */
export interface WorkerModels {
  /** Pinned versions by the reference key resolvers use (`modelRefKey`). */
  readonly pinned: Readonly<Record<string, PinnedModel>>;
  /** Local file of each artifact, by sha256 (checked again when loaded). */
  readonly paths: Readonly<Record<string, string>>;
  /** Artifact bytes one worker may hold loaded (default 256 MiB). */
  readonly maxLoadedBytes?: number;
}

/** What a resolver worker is started with. */
export interface WorkerData {
  /** `file:` URL of the deployment's ESM bundle. */
  readonly bundleUrl: string;
  /** The environment's secrets, decrypted by the data plane; they never leave it. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly models?: WorkerModels;
}

/** One resolver call. */
export interface CallMessage {
  readonly id: number;
  readonly resolver: string;
  readonly rows: readonly Record<string, unknown>[];
  readonly context: CallContext;
  /** The W3C `traceparent` of the call's span, when the query is traced (sampled): the worker times the call. */
  readonly traceparent?: string;
}

/** When a traced call ran in its worker (epoch ms, fractional) and on which thread. */
export interface WorkerTiming {
  readonly start: number;
  readonly end: number;
  readonly thread: number;
}

/** One call's outcomes. */
export interface ResultMessage {
  readonly id: number;
  readonly outcomes: readonly ResolverOutcome[];
  /** For a traced call (one sent with a `traceparent`): when and where it ran. */
  readonly timing?: WorkerTiming;
}

/**
 * The calls made in one tick (a plan stage, possibly of several queries), as one message of parallel
 * arrays: the thread hop and structured cloning are paid once per stage, and cloning arrays of strings and
 * numbers costs less than one object per call. Calls of one query share their context, sent once.
 */
export interface CallsMessage {
  readonly type: 'calls';
  readonly ids: readonly number[];
  readonly resolvers: readonly string[];
  readonly rows: readonly (readonly Record<string, unknown>[])[];
  readonly contexts: readonly CallContext[];
  /** Index in `contexts` of each call's context. */
  readonly contextOf: readonly number[];
  /** Each call's `traceparent` (null when untraced); absent when no call of the message is traced. */
  readonly traces?: readonly (string | null)[];
}

/**
 * The results finished in one tick. A call whose rows all succeeded sends only their outputs
 * (`outputs[i]`, `outcomes[i]` null); any other sends its outcomes (`outputs[i]` null).
 */
export interface ResultsMessage {
  readonly type: 'results';
  readonly ids: readonly number[];
  readonly outputs: readonly (readonly Readonly<Record<string, unknown>>[] | null)[];
  readonly outcomes: readonly (readonly ResolverOutcome[] | null)[];
  /** Each traced call's timing (null for the others); absent when no call of the message is traced. */
  readonly timings?: readonly (WorkerTiming | null)[];
}

export type WorkerRequest = CallsMessage | { readonly type: 'ping'; readonly id: number };

export type WorkerReply =
  | { readonly type: 'ready'; readonly resolvers: readonly string[] }
  | { readonly type: 'boot_error'; readonly error: ResolverException }
  | ResultsMessage
  | { readonly type: 'pong'; readonly id: number };

export function packCalls(calls: readonly CallMessage[]): CallsMessage {
  const contexts: CallContext[] = [];
  const contextOf: number[] = [];
  let traced = false;
  for (const call of calls) {
    // A query's calls share one context object: compare by identity, the last one first.
    let index = contexts.lastIndexOf(call.context);
    if (index < 0) index = contexts.push(call.context) - 1;
    contextOf.push(index);
    if (call.traceparent !== undefined) traced = true;
  }
  const message: CallsMessage = {
    type: 'calls',
    ids: calls.map((call) => call.id),
    resolvers: calls.map((call) => call.resolver),
    rows: calls.map((call) => call.rows),
    contexts,
    contextOf,
  };
  // Untraced (the common case: tracing off or the query not sampled) adds nothing to the message.
  return traced ? { ...message, traces: calls.map((call) => call.traceparent ?? null) } : message;
}

export function unpackCalls(message: CallsMessage): CallMessage[] {
  return message.ids.map((id, i) => {
    const call = {
      id,
      resolver: message.resolvers[i]!,
      rows: message.rows[i]!,
      context: message.contexts[message.contextOf[i]!]!,
    };
    const traceparent = message.traces?.[i];
    return traceparent ? { ...call, traceparent } : call;
  });
}

export function packResults(results: readonly ResultMessage[]): ResultsMessage {
  const outputs: (Readonly<Record<string, unknown>>[] | null)[] = [];
  const outcomes: (readonly ResolverOutcome[] | null)[] = [];
  let timed = false;
  for (const result of results) {
    const ok = result.outcomes.every((outcome) => outcome.ok);
    outputs.push(ok ? result.outcomes.map((outcome) => (outcome.ok ? outcome.outputs : {})) : null);
    outcomes.push(ok ? null : result.outcomes);
    if (result.timing) timed = true;
  }
  const message: ResultsMessage = {
    type: 'results',
    ids: results.map((result) => result.id),
    outputs,
    outcomes,
  };
  return timed ? { ...message, timings: results.map((result) => result.timing ?? null) } : message;
}

export function unpackResults(message: ResultsMessage): ResultMessage[] {
  return message.ids.map((id, i) => {
    const result = {
      id,
      outcomes:
        message.outcomes[i] ?? (message.outputs[i] ?? []).map((outputs) => ({ ok: true as const, outputs })),
    };
    const timing = message.timings?.[i];
    return timing ? { ...result, timing } : result;
  });
}
