import { parseDuration, SlateError } from '@slate/graph';

/** What a query request's `X-Chalk-*` headers ask for (chalk.md §3.3). */
export interface QueryHeaders {
  /** Absolute deadline (epoch ms) from `X-Chalk-Timeout`. */
  readonly deadline?: number;
  /** `X-Chalk-Query-Name`: the named query to run when the body names none. */
  readonly queryName?: string;
  /**
   * The trace the request belongs to (32 hex): its `traceparent`'s, or a new one. Set by `tracedGateway`
   * when the data plane traces; `include_meta` returns it as `trace_id`.
   */
  readonly traceId?: string;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const servedDeploymentTypes = new Set(['engine', 'engine-grpc']);
const branchDeploymentTypes = new Set(['branch', 'branch-grpc']);

/**
 * Reads the query headers. Names are case-insensitive (Node lower-cases them), so `X-Chalk-Timeout` and
 * `x-chalk-timeout` are the same header. `X-Chalk-Timeout` is milliseconds (`250`) or a duration (`"2s"`).
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) for a branch (`X-Chalk-Branch-Id`, or
 * `X-Chalk-Deployment-Type: branch`), an unknown deployment type, or a timeout that is not a positive time.
 * @example
 * const { deadline } = readQueryHeaders({ 'x-chalk-timeout': '500' }, Date.now());
 */
export function readQueryHeaders(headers: Headers, now: number): QueryHeaders {
  const branch = first(headers['x-chalk-branch-id']);
  const deploymentType = first(headers['x-chalk-deployment-type'])?.toLowerCase();
  if (branch || (deploymentType && branchDeploymentTypes.has(deploymentType))) {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `branch deployments are not available on this data plane yet${branch ? ` (branch '${branch}')` : ''}: query the environment's engine without X-Chalk-Branch-Id`,
    );
  }
  if (deploymentType && !servedDeploymentTypes.has(deploymentType)) {
    throw new SlateError(
      'input',
      'INVALID_QUERY',
      `unknown X-Chalk-Deployment-Type '${deploymentType}': this data plane serves 'engine'`,
    );
  }
  const timeout = first(headers['x-chalk-timeout']);
  let deadline: number | undefined;
  if (timeout !== undefined && timeout.trim() !== '') {
    const ms = timeoutMs(timeout);
    if (ms === undefined) {
      throw new SlateError(
        'input',
        'INVALID_QUERY',
        `X-Chalk-Timeout '${timeout.slice(0, 40)}' is not a positive number of milliseconds or a duration such as '2s'`,
      );
    }
    deadline = now + ms;
  }
  const queryName = first(headers['x-chalk-query-name'])?.trim() || undefined;
  return { deadline, queryName };
}

function timeoutMs(text: string): number | undefined {
  const number = Number(text);
  if (Number.isFinite(number)) return number > 0 ? number : undefined;
  try {
    const seconds = parseDuration(text);
    return seconds !== null && seconds > 0 ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
