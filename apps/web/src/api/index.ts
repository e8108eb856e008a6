/** Wire types: one definition, `@slate/client`'s (the graph's types are `@slate/graph`'s, re-exported there). */
export type {
  AuditEntry,
  AuthProviders,
  BatchJob,
  BatchJobDetail,
  BatchReport,
  CreatedToken,
  CreateTokenInput,
  DataPlane,
  DataPlaneInstance,
  Deployment,
  DeploymentDetail,
  DeploymentStatus,
  DType,
  Environment,
  FeatureSpec,
  GraphArtifact,
  Me,
  MetricSeries,
  MetricSeriesQuery,
  NamespaceSpec,
  Page,
  PageQuery,
  Project,
  ResolverInput,
  ResolverOutput,
  ResolverSpec,
  Schedule,
  ScheduleFire,
  ScheduleKind,
  ServiceToken,
  SourceLocation,
  Team,
  Usage,
} from '@slate/client';
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
