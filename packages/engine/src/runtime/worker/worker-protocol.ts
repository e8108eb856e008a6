import type { CallContext, ResolverException, ResolverOutcome } from '../resolver-runtime.ts';

/** What a resolver worker is started with. */
export interface WorkerData {
  /** `file:` URL of the deployment's ESM bundle. */
  readonly bundleUrl: string;
  /** The environment's secrets, decrypted by the data plane; they never leave it. */
  readonly secrets: Readonly<Record<string, string>>;
}

/** One resolver call. */
export interface CallMessage {
  readonly type: 'call';
  readonly id: number;
  readonly resolver: string;
  readonly rows: readonly Record<string, unknown>[];
  readonly context: CallContext;
}

/** One call's outcomes. */
export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  readonly outcomes: readonly ResolverOutcome[];
}

/**
 * Calls (and results) made in the same tick travel together: a query's independent resolver steps start
 * at once, and one message per step would pay the thread hop and cloning overhead each time.
 */
export type WorkerRequest =
  | CallMessage
  | { readonly type: 'calls'; readonly calls: readonly CallMessage[] }
  | { readonly type: 'ping'; readonly id: number };

export type WorkerReply =
  | { readonly type: 'ready'; readonly resolvers: readonly string[] }
  | { readonly type: 'boot_error'; readonly error: ResolverException }
  | ResultMessage
  | { readonly type: 'results'; readonly results: readonly ResultMessage[] }
  | { readonly type: 'pong'; readonly id: number };
