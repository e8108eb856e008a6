import type { CallContext, ResolverException, ResolverOutcome } from '../resolver-runtime.ts';

/** What a resolver worker is started with. */
export interface WorkerData {
  /** `file:` URL of the deployment's ESM bundle. */
  readonly bundleUrl: string;
  /** The environment's secrets, decrypted by the data plane; they never leave it. */
  readonly secrets: Readonly<Record<string, string>>;
}

export type WorkerRequest =
  | {
      readonly type: 'call';
      readonly id: number;
      readonly resolver: string;
      readonly rows: readonly Record<string, unknown>[];
      readonly context: CallContext;
    }
  | { readonly type: 'ping'; readonly id: number };

export type WorkerReply =
  | { readonly type: 'ready'; readonly resolvers: readonly string[] }
  | { readonly type: 'boot_error'; readonly error: ResolverException }
  | { readonly type: 'result'; readonly id: number; readonly outcomes: readonly ResolverOutcome[] }
  | { readonly type: 'pong'; readonly id: number };
