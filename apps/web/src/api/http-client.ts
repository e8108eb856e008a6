import { ApiError, type ErrorBody } from './api-error.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Extra request headers (the playground names its environment in `X-Chalk-Env-Id`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `bytes` answers the body as an `ArrayBuffer` (a Parquet part) instead of parsing JSON. */
  readonly response?: 'json' | 'bytes';
}

/** A JSON-over-HTTP transport bound to one origin. */
export interface HttpClient {
  request<T>(method: HttpMethod, path: string, options?: RequestOptions): Promise<T>;
}

export interface HttpClientOptions {
  /** Prefix of every path; `''` (the default) means the page's own origin. */
  readonly baseUrl?: string;
  /** Defaults to the global `fetch`; tests pass their own. */
  readonly fetch?: typeof fetch;
  /** Called before a 401 is thrown, so the app can fall back to the login page once, in one place. */
  readonly onUnauthenticated?: (error: ApiError) => void;
}

/**
 * The header every cookie-authenticated mutating request must carry. A cross-site form cannot set it, so
 * its presence proves the request came from script on our own origin.
 */
export const CSRF_HEADER = 'x-slate-csrf';

const SAFE_METHODS: ReadonlySet<HttpMethod> = new Set(['GET']);

/**
 * Creates the transport the whole app uses: same-origin cookies, JSON bodies, the CSRF header on
 * mutations, and every non-2xx answer turned into an {@link ApiError}.
 *
 * @example
 * const http = createHttpClient({ onUnauthenticated: () => showLogin() });
 * const me = await http.request<Me>('GET', '/v1/me');
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const baseUrl = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  return {
    async request<T>(method: HttpMethod, path: string, request: RequestOptions = {}): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
      if (!SAFE_METHODS.has(method)) headers[CSRF_HEADER] = '1';
      let body: string | undefined;
      if (request.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(request.body);
      }
      let response: Response;
      try {
        response = await doFetch(baseUrl + path + queryString(request.query), {
          method,
          headers,
          body,
          credentials: 'same-origin',
          signal: request.signal,
        });
      } catch (cause) {
        if (request.signal?.aborted) throw cause;
        throw new ApiError(
          0,
          'NETWORK',
          'The Slate server could not be reached. Is the metadata plane running?',
        );
      }
      if (response.ok && request.response === 'bytes') return (await response.arrayBuffer()) as T;
      const text = await response.text();
      if (!response.ok) {
        const error = toApiError(response.status, response.statusText, text);
        if (error.unauthenticated) options.onUnauthenticated?.(error);
        throw error;
      }
      if (text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ApiError(
          response.status,
          'INVALID_RESPONSE',
          `${method} ${path} answered with something other than JSON`,
        );
      }
    },
  };
}

/** `?a=1&b=x` from the defined values, in insertion order; `''` when there are none. */
export function queryString(query: Readonly<Record<string, QueryValue>> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function toApiError(status: number, statusText: string, text: string): ApiError {
  let body: ErrorBody | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as ErrorBody;
  } catch {
    // not JSON (a proxy's HTML error page, say): fall back to the status line below
  }
  const message = body?.message || body?.detail || statusText || `HTTP ${status}`;
  return new ApiError(
    status,
    body?.code ?? `HTTP_${status}`,
    message,
    body?.detail ?? null,
    typeof body?.trace === 'string' ? body.trace : null,
  );
}
