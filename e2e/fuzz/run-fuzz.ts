import fc from 'fast-check';
import type { FuzzRoute, FuzzTargets } from './fuzz-targets.ts';
import {
  byteMutation,
  deeplyNested,
  hostileJson,
  hostileString,
  withPollutionKeys,
} from './hostile-values.ts';
import { fromSchema, mutated } from './schema-values.ts';

/** One generated request. */
export interface FuzzRequest {
  readonly route: FuzzRoute;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string | Buffer;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Requests to send. */
  readonly runs: number;
  /** A request slower than this is a failure (default 5,000 ms). */
  readonly maxMs?: number;
  /** Called every 100 requests (long runs print progress). */
  readonly onProgress?: (done: number) => void;
}

export interface FuzzReport {
  readonly requests: number;
  readonly statuses: Readonly<Record<string, number>>;
  /**
   * 5xx answers, slow or hung requests, and prototype pollution, one line each. A request over `maxMs` is
   * sent again once; it fails only when the second is over too (`statuses.slowOnce` counts the others).
   */
  readonly failures: readonly string[];
  readonly slowestMs: number;
  readonly slowest: string;
  /** Routes that got at least one request, per plane. */
  readonly routesHit: number;
}

/** Long polls wait up to their `wait` by design: the fuzzer keeps it short so a slow answer still means a hang. */
const LONG_POLL_PARAMS: Readonly<Record<string, string>> = { '/v1/data-plane/desired-state': 'wait' };
/** Answers that are the route's documented purpose, not a fault (readiness: 503 while an environment has no deployment). */
const DOCUMENTED_5XX = new Set(['GET /readyz 503']);

/**
 * Sends `runs` generated requests, spread over every route of both planes, and reports every 5xx, every
 * request over `maxMs` (hangs included: each is raced against that deadline) and any prototype pollution
 * of the server process. Deterministic for a seed: requests are drawn from fast-check with it, in batches
 * of 50 (`seed + batch`), so a failure's request is printed and can be replayed with the same seed.
 */
export async function runFuzz(targets: FuzzTargets, options: FuzzOptions): Promise<FuzzReport> {
  const maxMs = options.maxMs ?? 5_000;
  // Binary routes parse untrusted bytes by hand (Arrow, byte models): they get more of the requests.
  const arbitrary = fc.oneof(
    ...targets.routes.map((route) => ({
      weight: route.binarySeed ? 6 : 1,
      arbitrary: requestFor(route, targets.ids),
    })),
  );
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  const hit = new Set<string>();
  let slowestMs = 0;
  let slowest = '';
  let done = 0;
  for (let batch = 0; done < options.runs; batch++) {
    const requests = fc.sample(arbitrary, {
      seed: options.seed + batch,
      numRuns: Math.min(50, options.runs - done),
    });
    for (const request of requests) {
      const { route } = request;
      const label = `${route.plane} ${route.method} ${request.url.slice(0, 200)}`;
      let { outcome, ms } = await sendOnce(targets, request, maxMs);
      if (outcome === 'hang' || ms > maxMs) {
        // On this shared, loaded machine a request can wait for CPU: it is sent again alone, and only a
        // request slow both times is a failure (a real hang repeats; `slowOnce` counts the others).
        const again = await sendOnce(targets, request, maxMs);
        if (again.outcome !== 'hang' && again.ms <= maxMs) {
          statuses.slowOnce = (statuses.slowOnce ?? 0) + 1;
          ({ outcome, ms } = again);
        }
      }
      done++;
      hit.add(`${route.plane} ${route.method} ${route.url}`);
      if (ms > slowestMs) {
        slowestMs = ms;
        slowest = label;
      }
      if (outcome === 'hang') {
        failures.push(`HANG (> ${maxMs} ms, twice) ${label} ${describePayload(request.payload)}`);
        statuses.hang = (statuses.hang ?? 0) + 1;
        continue;
      }
      statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
      const documented = DOCUMENTED_5XX.has(`${route.method} ${route.url} ${outcome.status}`);
      if (outcome.status >= 500 && !documented)
        failures.push(
          `${outcome.status} ${label} ${describePayload(request.payload)} → ${outcome.body.slice(0, 300)}`,
        );
      else if (ms > maxMs)
        failures.push(`SLOW ${Math.round(ms)} ms (twice) ${label} ${describePayload(request.payload)}`);
      if (done % 100 === 0) options.onProgress?.(done);
    }
  }
  if (({} as Record<string, unknown>).polluted !== undefined) failures.push('Object.prototype was polluted');
  return {
    requests: done,
    statuses,
    failures,
    slowestMs: Math.round(slowestMs),
    slowest,
    routesHit: hit.size,
  };
}

/** One request, raced against `maxMs` (a request with no answer by then is a hang). */
async function sendOnce(
  targets: FuzzTargets,
  request: FuzzRequest,
  maxMs: number,
): Promise<{ outcome: { status: number; body: string } | 'hang'; ms: number }> {
  const { route } = request;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    targets.apps[route.plane]
      .inject({
        method: route.method as 'GET',
        url: request.url,
        headers: request.headers,
        ...(request.payload === undefined ? {} : { payload: request.payload }),
      })
      .then((response) => ({ status: response.statusCode, body: response.body })),
    new Promise<'hang'>((resolve) => {
      timer = setTimeout(() => resolve('hang'), maxMs);
    }),
  ]);
  clearTimeout(timer);
  return { outcome, ms: performance.now() - started };
}

function describePayload(payload: string | Buffer | undefined): string {
  if (payload === undefined) return '(no body)';
  if (Buffer.isBuffer(payload)) return `base64:${payload.toString('base64').slice(0, 2_000)}`;
  return JSON.stringify(payload.slice(0, 300));
}

/** Percent-encodes a segment; a lone surrogate (which encodeURIComponent refuses) goes as its raw bytes. */
function encodeSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return Buffer.from(text, 'utf16le').toString('hex').replace(/../g, '%$&');
  }
}

/** A path segment: a real id, a hostile string, or raw percent-junk the router must decode. */
const segment = (ids: readonly string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ids).map(encodeURIComponent) },
    { weight: 3, arbitrary: hostileString.map((s) => encodeSegment(s.slice(0, 5_000))) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%00', '%C0%80', '%ED%A0%80', '..', '%2F', '') },
  );

function queryString(route: FuzzRoute, ids: readonly string[]): fc.Arbitrary<string> {
  const known = route.query.map(({ name, schema }) =>
    fc
      .option(
        fc.oneof(
          fromSchema(schema, ids).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
          hostileString.map((s) => s.slice(0, 5_000)),
        ),
        { nil: undefined },
      )
      .map((value) => [name, value] as const),
  );
  return fc
    .tuple(
      fc.tuple(...known),
      fc.array(
        fc.tuple(
          hostileString.map((s) => s.slice(0, 200)),
          hostileString.map((s) => s.slice(0, 200)),
        ),
        {
          maxLength: 2,
        },
      ),
      fc.constantFrom(
        '',
        '',
        '',
        '&__proto__[polluted]=yes',
        '&a=1&a=2',
        '&%zz=1',
        '&constructor[prototype][polluted]=yes',
      ),
    )
    .map(([pairs, extra, raw]) => {
      const search = new URLSearchParams();
      const longPoll = LONG_POLL_PARAMS[route.url];
      for (const [name, value] of pairs) {
        if (value === undefined) continue;
        search.append(name, name === longPoll ? String(Math.min(1, Math.abs(Number(value)) || 0)) : value);
      }
      for (const [name, value] of extra) if (name !== longPoll) search.append(name, value);
      const text = search.toString() + raw;
      return text ? `?${text}` : '';
    });
}

/** The JSON texts a body may be: valid-shaped, one leaf mutated, any JSON, cut short, deeply nested, polluting. */
function jsonBody(valid: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 5, arbitrary: valid.chain(mutated).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? 'null') },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.double({ min: 0, max: 1, noNaN: true })).map(([v, cut]) => {
        const text = JSON.stringify(v) ?? 'null';
        return text.slice(0, Math.floor(text.length * cut));
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('array' as const, 'object' as const))
        .map(([depth, kind]) => deeplyNested(depth, kind)),
    },
    { weight: 2, arbitrary: valid.map((v) => withPollutionKeys(JSON.stringify(v) ?? '{}')) },
  );
}

/** A header value as a client can send one: printable ASCII (Node refuses control characters itself). */
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,64}$/);

/**
 * A session cookie (or a forged one) with the CSRF header and the environment header each valid, absent
 * or hostile: the cookie path of the forwarded routes mints a user token only for a valid combination.
 */
function sessionHeaders(session: Readonly<Record<string, string>>): fc.Arbitrary<Record<string, string>> {
  const optional = (valid: string) =>
    fc.oneof(fc.constant(valid), fc.constant(undefined), headerValue, fc.constantFrom('', '0', 'true'));
  return fc
    .tuple(
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(session) },
        { weight: 1, arbitrary: headerValue.map((v) => ({ cookie: `slate_session=${v}` })) },
      ),
      optional('1'),
      fc.oneof(optional('dev'), fc.constantFrom('prod', 'other-team-env', '../dev', 'dev,dev')),
    )
    .map(([cookie, csrf, environment]) => ({
      ...cookie,
      ...(csrf === undefined ? {} : { 'x-slate-csrf': csrf }),
      ...(environment === undefined ? {} : { 'x-chalk-env-id': environment }),
    }));
}

function requestFor(route: FuzzRoute, ids: readonly string[]): fc.Arbitrary<FuzzRequest> {
  const path = fc.tuple(...route.params.map(() => segment(ids))).map((values) => {
    let url = route.url;
    route.params.forEach((name, i) => {
      url = url.replace(`:${name}`, values[i]!);
    });
    return url;
  });
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(route.auth) },
    { weight: 1, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc.constantFrom({ authorization: 'Bearer x.y.z' }, { authorization: 'Basic Og==' }),
    },
    ...(route.sessionAuth ? [{ weight: 4, arbitrary: sessionHeaders(route.sessionAuth) }] : []),
  );
  const hasBody = route.method !== 'GET';
  let body: fc.Arbitrary<{ payload?: string | Buffer; contentType?: string }>;
  if (!hasBody) body = fc.constant({});
  else if (route.binarySeed)
    body = fc
      .tuple(
        byteMutation(route.binarySeed),
        fc.constantFrom('application/octet-stream', 'application/json', 'text/plain'),
      )
      .map(([payload, contentType]) => ({ payload, contentType }));
  else {
    const valid = route.bodySchema
      ? fromSchema(route.bodySchema, ids)
      : fc.oneof(fc.constant(route.bodySeed ?? {}), fc.constant(route.bodySeed ?? {}).chain(mutated));
    body = fc.oneof(
      {
        weight: 8,
        arbitrary: jsonBody(valid).map((payload) => ({ payload, contentType: 'application/json' })),
      },
      {
        weight: 1,
        arbitrary: fc
          .dictionary(
            hostileString.map((s) => s.slice(0, 100)),
            hostileString.map((s) => s.slice(0, 1_000)),
            {
              maxKeys: 4,
            },
          )
          .map((form) => ({
            payload: new URLSearchParams(form).toString(),
            contentType: 'application/x-www-form-urlencoded',
          })),
      },
      { weight: 1, arbitrary: fc.constant({}) },
    );
  }
  return fc
    .tuple(path, queryString(route, ids), auth, body)
    .map(([pathname, search, headers, { payload, contentType }]) => ({
      route,
      url: pathname + search,
      headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(payload === undefined ? {} : { payload }),
    }));
}
