/**
 * Where resolver functions run. The engine plans and orchestrates; a runtime only calls user code. The
 * embedded and test setups call functions in process; the data plane runs a deployment's bundle in worker
 * threads so a hostile resolver cannot take the server down.
 */
export interface ResolverRuntime {
  /**
   * Calls one resolver once per row. Resolves with one outcome per row, in order; rejects only when the
   * runtime itself fails (then every row of the call failed the same way).
   */
  call(request: ResolverCall, signal?: AbortSignal): Promise<ResolverOutcome[]>;
  close(): Promise<void>;
}

export interface ResolverCall {
  readonly resolver: string;
  /** Inputs per row, by the resolver's parameter names. */
  readonly rows: readonly Record<string, unknown>[];
  readonly context: CallContext;
  /** Milliseconds after which the call reports `timedOut` for unfinished rows. */
  readonly timeoutMs?: number;
}

/** The structured-clonable part of a resolver's context. */
export interface CallContext {
  readonly now: Date;
  readonly environment: string;
  readonly deploymentId: string;
  readonly tags: readonly string[];
  readonly queryContext: Readonly<Record<string, unknown>>;
}

export type ResolverOutcome =
  | { readonly ok: true; readonly outputs: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly timedOut?: boolean; readonly error: ResolverException };

export interface ResolverException {
  readonly kind: string;
  readonly message: string;
  readonly stacktrace: string;
}

/** Describes a thrown value as the seed product's `exception` object. */
export function describeException(thrown: unknown): ResolverException {
  if (thrown instanceof Error) {
    return {
      kind: thrown.name,
      message: thrown.message,
      stacktrace: thrown.stack ?? `${thrown.name}: ${thrown.message}`,
    };
  }
  return { kind: typeof thrown, message: String(thrown), stacktrace: String(thrown) };
}
