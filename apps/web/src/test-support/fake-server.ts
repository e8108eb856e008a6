/**
 * An in-memory stand-in for the metadata plane behind `fetch`, for component tests: routes are
 * `'METHOD /path'` patterns with `:params`, every request is recorded for assertions.
 */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Headers;
  readonly body: unknown;
}

/** A handler's answer: a `reply(...)` for a status other than 200, or any value for a 200 JSON body. */
export type Handler = (req: RecordedRequest, params: Record<string, string>) => unknown;

const REPLY = Symbol('reply');
interface Reply {
  readonly [REPLY]: true;
  readonly status: number;
  readonly body: unknown;
}

/** An answer with an explicit status; `body` undefined sends an empty body. */
export function reply(status: number, body?: unknown): Reply {
  return { [REPLY]: true, status, body };
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && REPLY in value;
}

export interface FakeServer {
  readonly fetch: typeof fetch;
  readonly requests: RecordedRequest[];
}

/** Unknown routes answer 404 with the metadata plane's error body. */
export function createFakeServer(routes: Readonly<Record<string, Handler>>): FakeServer {
  const requests: RecordedRequest[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://slate.test');
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const req: RecordedRequest = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: new Headers(init?.headers),
      body: text === undefined ? undefined : JSON.parse(text),
    };
    requests.push(req);
    for (const [pattern, handler] of Object.entries(routes)) {
      const params = match(pattern, req.method, req.path);
      if (!params) continue;
      const result = handler(req, params);
      const { status, body } = isReply(result) ? result : { status: 200, body: result };
      return new Response(body === undefined ? null : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    }
    return new Response(
      JSON.stringify({ detail: 'no route', message: 'no route', trace: null, code: 'NOT_FOUND' }),
      { status: 404 },
    );
  };
  return { fetch: fetchImpl as typeof fetch, requests };
}

function match(pattern: string, method: string, path: string): Record<string, string> | null {
  const [m, p] = pattern.split(' ') as [string, string];
  if (m !== method) return null;
  const want = p.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(got[i]!);
    else if (w !== got[i]) return null;
  }
  return params;
}
