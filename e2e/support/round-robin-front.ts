/**
 * A load balancer's part, played in the test: each request goes to the next replica in round robin. A
 * replica that refuses the connection (a dead one) is skipped, as a load balancer's health check would; any
 * other failure, or an answer that is not a success, is the request's outcome.
 */

/** One replica behind the front. */
export interface FrontTarget {
  readonly name: string;
  readonly url: string;
}

/** What one request through the front gave: success, a one-line description, and the JSON body. */
export interface FrontOutcome {
  readonly ok: boolean;
  readonly detail: string;
  readonly json: unknown;
}

export interface RoundRobinFront {
  /** POSTs `body` as JSON to `path` on the next replica; never throws. */
  post(path: string, body: unknown): Promise<FrontOutcome>;
  /** The replicas skipped because they refused a connection, one entry per skip. */
  readonly skipped: string[];
}

/**
 * Creates a front over `targets` (a live array: replicas added later take their turn) sending `headers`
 * (e.g. the bearer token) with every request. A success is a 2xx whose JSON has no `errors`.
 *
 * @example
 * const front = createRoundRobinFront(replicas, { authorization: `Bearer ${token}` });
 * const { ok, detail } = await front.post('/v1/query/online', { inputs: { 'user.id': 1 }, outputs: ['user.name'] });
 */
export function createRoundRobinFront(
  targets: readonly FrontTarget[],
  headers: () => Record<string, string>,
): RoundRobinFront {
  let next = 0;
  const skipped: string[] = [];
  return {
    skipped,
    async post(path, body) {
      // Each request tries every replica once at most, from its own round-robin slot.
      const first = next++;
      for (let attempt = 0; attempt < targets.length; attempt++) {
        const target = targets[(first + attempt) % targets.length]!;
        let response: Response;
        try {
          response = await fetch(`${target.url}${path}`, {
            method: 'POST',
            headers: { ...headers(), 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        } catch (error) {
          const code = (error as { cause?: { code?: string } }).cause?.code;
          if (code === 'ECONNREFUSED') {
            skipped.push(target.name);
            continue;
          }
          return {
            ok: false,
            detail: `${target.name}: ${(error as Error).message} ${code}`,
            json: undefined,
          };
        }
        const json = (await response.json().catch(() => undefined)) as { errors?: unknown[] } | undefined;
        const ok = response.ok && (json?.errors ?? []).length === 0;
        return {
          ok,
          detail: `${target.name}: ${response.status} ${JSON.stringify(json).slice(0, 300)}`,
          json,
        };
      }
      return { ok: false, detail: 'no replica accepted the connection', json: undefined };
    },
  };
}
