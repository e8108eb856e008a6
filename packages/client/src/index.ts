export {
  type AuditEntry,
  AuditEntrySchema,
  type AuditFilter,
  type CreateEnvironmentInput,
  type CreateProjectInput,
  type CreateTeamInput,
  type CustomRoleInput,
  type Invite,
  type InviteInput,
  InviteSchema,
  type Member,
  MemberSchema,
  type Project,
  ProjectSchema,
  type RenameInput,
  type Role,
  RoleSchema,
  type RotatedToken,
  RotatedTokenSchema,
  SECRET_NAME_PATTERN,
  type Secret,
  SecretSchema,
  type Team,
  TeamSchema,
} from './admin-api.ts';
export { ackIncident, type Incident, IncidentSchema, listIncidents } from './alerts-api.ts';
export { sha256Hex, toBase64 } from './bytes.ts';
export {
  type DeploymentRollout,
  DeploymentRolloutSchema,
  type Environment,
  EnvironmentSchema,
  environmentIdOf,
  getDeploymentRollout,
  getEnvironment,
  listEnvironments,
} from './catalog-api.ts';
export {
  type CredentialOverrides,
  type Credentials,
  type CredentialsFile,
  CredentialsFileSchema,
  DEFAULT_API_SERVER,
  type LoadCredentialsOptions,
  loadCredentials,
} from './credentials.ts';
// Types only: the feather codecs load Apache Arrow (~170 ms), so the client loads them on first use and
// the package surface does not re-export them (a re-export would load Arrow with the package).
export {
  type BatchJob,
  BatchJobSchema,
  type DatasetStatus,
  DatasetStatusSchema,
  downloadDatasetPart,
  FINISHED_DATASET_STATUSES,
  getDatasetStatus,
  listDatasets,
  type OfflineQueryInput,
  type OfflineQuerySubmission,
  OfflineQuerySubmissionSchema,
  submitOfflineQuery,
} from './datasets-api.ts';
export type { BulkQueryRequest, BulkQueryResult, ByteModel } from './feather.ts';
export type {
  DeleteFeaturesRequest,
  DeleteFeaturesResponse,
  EnvironmentGraph,
  UploadFeaturesResponse,
} from './features-api.ts';
export {
  type MetricSeries,
  type MetricSeriesRequest,
  MetricSeriesSchema,
  metricSeriesQuery,
} from './metrics-api.ts';
export type {
  OfflineQueryError,
  OfflineQueryRequest,
  OfflineQueryResponse,
  OfflineQueryResult,
  OfflineQueryRevision,
  OfflineQueryStatus,
  OfflineQueryStatusReport,
} from './offline-query.ts';
export {
  type ChalkError,
  type FeatureResult,
  type JsonValue,
  type OnlineQueryRequest,
  type OnlineQueryResponse,
  OnlineQueryResponseSchema,
  type OnlineQueryResult,
  type QueryMeta,
} from './online-query.ts';
export {
  FINISHED_RUN_STATUSES,
  type IncrementalState,
  IncrementalStateSchema,
  RUN_STATUSES,
  type Run,
  type RunPage,
  RunPageSchema,
  RunSchema,
  type RunStatus,
  type TriggerRunInput,
} from './runs-api.ts';
export {
  SCHEDULE_KINDS,
  type Schedule,
  type ScheduleFire,
  ScheduleFireSchema,
  type ScheduleKind,
  type ScheduleRef,
  ScheduleSchema,
  type ScheduleState,
} from './schedules-api.ts';
export {
  deleteSecret,
  listSecrets,
  type SecretCallOptions,
  setSecret,
} from './secrets-api.ts';
export {
  type AccessToken,
  type ApiRequest,
  type CallOptions,
  type CreateDeploymentInput,
  createSlateClient,
  type EnvironmentCallOptions,
  type GitMetadata,
  type ListDeploymentsOptions,
  type ListRunsOptions,
  type ListScheduleFiresOptions,
  type QueryOptions,
  type SlateClient,
  type SlateClientOptions,
  type TokenCache,
  type UploadOptions,
  type WaitForDeploymentOptions,
  type WaitForRunOptions,
} from './slate-client.ts';
export {
  DEPLOYMENT_STATUSES,
  type Deployment,
  type DeploymentPage,
  type DeploymentStatus,
  FAILED_DEPLOYMENT_STATUSES,
  type WhoAmI,
} from './wire.ts';
