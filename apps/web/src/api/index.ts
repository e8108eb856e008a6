export type { AdminApi } from './admin-api.ts';
export { ApiError, type ErrorBody, isNotFound } from './api-error.ts';
export {
  CSRF_HEADER,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  queryString,
} from './http-client.ts';
export { createQueryApi, ENVIRONMENT_HEADER, type QueryApi } from './query-api.ts';
export { createSlateApi, listAll, type SlateApi } from './slate-api.ts';
export type * from './types.ts';
