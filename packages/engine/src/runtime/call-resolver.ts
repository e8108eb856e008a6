import type { ResolverContext, ResolverFunction } from '@slate/sdk';
import { type CallContext, describeException, type ResolverOutcome } from './resolver-runtime.ts';

/**
 * Runs a resolver function over rows, concurrently, each row's failure its own; a batch resolver is called
 * once with every row (its failure, or a result of the wrong length, fails them all). Shared by every
 * runtime so in-process and worker execution behave the same.
 */
export async function callResolver(
  fn: ResolverFunction,
  rows: readonly Record<string, unknown>[],
  context: CallContext,
  secrets: ReadonlyMap<string, string>,
): Promise<ResolverOutcome[]> {
  const resolverContext: ResolverContext = { ...context, secret: (name) => secrets.get(name) };
  if (fn.batch) return callBatch(fn.batch, rows, resolverContext);
  return Promise.all(
    rows.map(async (row): Promise<ResolverOutcome> => {
      try {
        const outputs = await fn(row, resolverContext);
        if (typeof outputs !== 'object' || outputs === null) {
          return {
            ok: false,
            error: {
              kind: 'TypeError',
              message: 'the resolver must return an object of outputs',
              stacktrace: '',
            },
          };
        }
        return { ok: true, outputs };
      } catch (thrown) {
        return { ok: false, error: describeException(thrown) };
      }
    }),
  );
}

async function callBatch(
  batch: NonNullable<ResolverFunction['batch']>,
  rows: readonly Record<string, unknown>[],
  context: ResolverContext,
): Promise<ResolverOutcome[]> {
  const failAll = (error: ResolverOutcome & { ok: false }) => rows.map(() => error);
  try {
    const outputs = await batch([...rows], context);
    if (!Array.isArray(outputs) || outputs.length !== rows.length) {
      return failAll({
        ok: false,
        error: {
          kind: 'TypeError',
          message: `the batch resolver must return an array of ${rows.length} output objects`,
          stacktrace: '',
        },
      });
    }
    return outputs.map((output) =>
      typeof output === 'object' && output !== null
        ? { ok: true, outputs: output }
        : {
            ok: false,
            error: {
              kind: 'TypeError',
              message: 'each batch result must be an object of outputs',
              stacktrace: '',
            },
          },
    );
  } catch (thrown) {
    return failAll({ ok: false, error: describeException(thrown) });
  }
}

/** Races a call against its timeout: unfinished rows report `timedOut`. */
export async function withTimeout(
  rowCount: number,
  timeoutMs: number | undefined,
  run: Promise<ResolverOutcome[]>,
): Promise<ResolverOutcome[]> {
  if (timeoutMs === undefined) return run;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ResolverOutcome[]>((resolve) => {
    timer = setTimeout(() => {
      const error = {
        kind: 'TimeoutError',
        message: `resolver timed out after ${timeoutMs} ms`,
        stacktrace: '',
      };
      resolve(Array.from({ length: rowCount }, () => ({ ok: false, timedOut: true, error })));
    }, timeoutMs);
  });
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
