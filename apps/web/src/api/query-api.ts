import type {
  OfflineQueryRequest,
  OfflineQueryResponse,
  OfflineQueryResult,
  OfflineQueryStatusReport,
  OnlineQueryRequest,
  OnlineQueryResponse,
} from '@slate/client';
import type { HttpClient } from './http-client.ts';

/** The header that names the environment of a signed-in call to a data-plane route (ADR 0012). */
export const ENVIRONMENT_HEADER = 'x-chalk-env-id';

/**
 * The data-plane routes the playground calls through the API host with the user's session (the metadata
 * plane mints a short-lived token for the environment named in {@link ENVIRONMENT_HEADER}). Wire types are
 * `@slate/client`'s.
 */
export interface QueryApi {
  /** `POST /v1/query/online`. Per-feature failures are data in `errors`, not exceptions. */
  queryOnline(
    environmentId: string,
    request: OnlineQueryRequest,
    signal?: AbortSignal,
  ): Promise<OnlineQueryResponse>;
  /** `POST /v4/offline_query`: starts a dataset revision. */
  submitOfflineQuery(environmentId: string, request: OfflineQueryRequest): Promise<OfflineQueryResponse>;
  /** `GET /v2/offline_query/:revision`: finished or not, part links, columns. */
  offlineQuery(environmentId: string, revisionId: string, signal?: AbortSignal): Promise<OfflineQueryResult>;
  /** `GET /v4/offline_query/:revision/status`: status and progress (rows, heartbeat, attempt). */
  offlineQueryStatus(
    environmentId: string,
    revisionId: string,
    signal?: AbortSignal,
  ): Promise<OfflineQueryStatusReport>;
  /** `GET /v4/offline_query/:revision/parts/:n`: one result part's Parquet bytes. */
  offlineQueryPart(
    environmentId: string,
    revisionId: string,
    part: number,
    signal?: AbortSignal,
  ): Promise<ArrayBuffer>;
}

const enc = encodeURIComponent;

/** Binds the query routes to a transport. */
export function createQueryApi(http: HttpClient): QueryApi {
  const env = (environmentId: string) => ({ [ENVIRONMENT_HEADER]: environmentId });
  return {
    queryOnline: (environmentId, request, signal) =>
      http.request('POST', '/v1/query/online', { body: request, headers: env(environmentId), signal }),
    submitOfflineQuery: (environmentId, request) =>
      http.request('POST', '/v4/offline_query', { body: request, headers: env(environmentId) }),
    offlineQuery: (environmentId, revisionId, signal) =>
      http.request('GET', `/v2/offline_query/${enc(revisionId)}`, { headers: env(environmentId), signal }),
    offlineQueryStatus: (environmentId, revisionId, signal) =>
      http.request('GET', `/v4/offline_query/${enc(revisionId)}/status`, {
        headers: env(environmentId),
        signal,
      }),
    offlineQueryPart: (environmentId, revisionId, part, signal) =>
      http.request('GET', `/v4/offline_query/${enc(revisionId)}/parts/${part}`, {
        headers: env(environmentId),
        signal,
        response: 'bytes',
      }),
  };
}
