/**
 * A client of the seed product's HTTP API, written from the reference (chalk.md §3.2–3.7) as its clients
 * behave, not from Slate's code: the token exchange on the API host; queries on the API host (`route:
 * 'api-host'`, a client configured with only `api_server`) or on `engines[environment]` from the exchange
 * (`route: 'engine'`, the TS client's `useQueryServerFromCredentialExchange`).
 */
import {
  arrowIpc,
  type ByteModel,
  decodeByteModel,
  decodeFeatherResponse,
  encodeByteModel,
  encodeFeatherRequest,
  type FeatherQuery,
  type FeatherResult,
} from './feather-codec.ts';

export type Route = 'api-host' | 'engine';

export interface CompatClientOptions {
  readonly apiServer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly environment: string;
  readonly route: Route;
}

/** The token exchange's answer (chalk.md §3.2). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly primary_environment?: string | null;
  readonly engines?: Record<string, string>;
  readonly grpc_engines?: Record<string, string>;
  readonly api_server?: string;
}

export interface OnlineQueryResponse {
  readonly data: { field: string; value: unknown; pkey?: unknown; ts?: string; error?: unknown }[];
  readonly errors: Record<string, unknown>[];
  readonly meta?: Record<string, unknown>;
}

/** A failed HTTP call, with what the server said. */
export class CompatHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
  }
}

export class CompatHttpClient {
  private token: TokenResponse | undefined;

  constructor(private readonly options: CompatClientOptions) {}

  /** `POST {api_server}/v1/oauth/token` with client credentials; kept for the calls that follow. */
  async exchangeToken(): Promise<TokenResponse> {
    const response = await fetch(`${this.options.apiServer}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: this.options.clientId,
        client_secret: this.options.clientSecret,
        grant_type: 'client_credentials',
      }),
    });
    const text = await response.text();
    if (!response.ok) throw new CompatHttpError(response.status, text, 'token exchange');
    this.token = JSON.parse(text) as TokenResponse;
    return this.token;
  }

  /** The base URL queries go to: the API host, or the environment's engine from the token exchange. */
  queryServer(): string {
    if (this.options.route === 'api-host') return this.options.apiServer;
    const engine = this.requireToken().engines?.[this.options.environment];
    if (!engine) throw new Error(`the token exchange named no engine for ${this.options.environment}`);
    return engine;
  }

  /** The bearer token (exchanging credentials first if needed). */
  async accessToken(): Promise<string> {
    return (this.token ?? (await this.exchangeToken())).access_token;
  }

  private requireToken(): TokenResponse {
    if (!this.token) throw new Error('exchange a token first');
    return this.token;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.requireToken().access_token}`,
      'x-chalk-env-id': this.options.environment,
      'x-chalk-deployment-type': 'engine',
      ...extra,
    };
  }

  private async call(
    method: string,
    path: string,
    body?: string | Uint8Array,
    contentType?: string,
  ): Promise<Response> {
    const response = await fetch(`${this.queryServer()}${path}`, {
      method,
      headers: this.headers(contentType ? { 'content-type': contentType } : {}),
      body,
    });
    if (!response.ok) throw new CompatHttpError(response.status, await response.text(), `${method} ${path}`);
    return response;
  }

  /** `GET /v1/who-am-i` on the given base (default: where queries go). */
  async whoAmI(base = this.queryServer()): Promise<Record<string, unknown>> {
    const response = await fetch(`${base}/v1/who-am-i`, { headers: this.headers() });
    if (!response.ok) throw new CompatHttpError(response.status, await response.text(), 'who-am-i');
    return (await response.json()) as Record<string, unknown>;
  }

  /** `POST /v1/query/online` (JSON). */
  async onlineQuery(body: Record<string, unknown>): Promise<OnlineQueryResponse> {
    const response = await this.call('POST', '/v1/query/online', JSON.stringify(body), 'application/json');
    return (await response.json()) as OnlineQueryResponse;
  }

  /** `POST /v1/query/feather` with several queries (one for a bulk query); one result per query. */
  async featherQuery(queries: readonly FeatherQuery[]): Promise<FeatherResult[]> {
    const response = await this.call(
      'POST',
      '/v1/query/feather',
      new Uint8Array(encodeFeatherRequest(queries)),
      'application/octet-stream',
    );
    return decodeFeatherResponse(Buffer.from(await response.arrayBuffer()));
  }

  /**
   * `POST /v1/upload_features/multi`: a byte model with the feature names, `table_compression` and the rows
   * as Arrow IPC in `table_bytes` (chalk.md §3.6). Answers `{operation_id}` (and `errors` when some failed).
   */
  async uploadFeatures(columns: Record<string, readonly unknown[]>): Promise<Record<string, unknown>> {
    const body = encodeByteModel(
      { features: Object.keys(columns), table_compression: 'uncompressed' },
      { table_bytes: arrowIpc(columns) },
    );
    const response = await this.call(
      'POST',
      '/v1/upload_features/multi',
      new Uint8Array(body),
      'application/octet-stream',
    );
    return (await response.json()) as Record<string, unknown>;
  }

  /**
   * An offline query as the Go client runs it: `POST /v4/offline_query`, then `GET
   * /v2/offline_query/{revision}` every 500 ms until finished, then each result URL downloaded.
   */
  async offlineQuery(
    request: Record<string, unknown>,
    options: { timeoutMs?: number } = {},
  ): Promise<{ revisionId: string; columns: unknown[]; urls: string[]; files: Buffer[] }> {
    const submitted = await this.call(
      'POST',
      '/v4/offline_query',
      JSON.stringify(request),
      'application/json',
    );
    const dataset = (await submitted.json()) as { revisions: { revision_id: string }[]; errors?: unknown[] };
    const revisionId = dataset.revisions[0]?.revision_id;
    if (!revisionId) throw new Error(`offline query gave no revision: ${JSON.stringify(dataset)}`);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const polled = await this.call('GET', `/v2/offline_query/${revisionId}`);
      const status = (await polled.json()) as {
        is_finished: boolean;
        urls: string[];
        errors?: unknown[] | null;
        columns?: unknown[];
      };
      if (status.is_finished) {
        if (status.errors && status.errors.length > 0)
          throw new Error(`offline query failed: ${JSON.stringify(status.errors)}`);
        const files: Buffer[] = [];
        for (const url of status.urls) {
          // Result links are signed; the bearer token is sent too, as the Go client's HTTP client does.
          const part = await fetch(url, { headers: this.headers() });
          if (!part.ok) throw new CompatHttpError(part.status, await part.text(), `download ${url}`);
          files.push(Buffer.from(await part.arrayBuffer()));
        }
        return { revisionId, columns: status.columns ?? [], urls: status.urls, files };
      }
      if (Date.now() > deadline) throw new Error(`offline query ${revisionId} did not finish in time`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export type { ByteModel, FeatherQuery, FeatherResult };
export { decodeByteModel };
