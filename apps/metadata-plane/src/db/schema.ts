import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type {
  AlertDeliveriesTable,
  AlertRoutesTable,
  IncidentsTable,
  MetricChecksTable,
} from '../monitoring/monitoring-schema.ts';

/**
 * Kysely table types for the metadata plane's PostgreSQL schema (see `migrations/`). Timestamps are
 * `timestamptz` and read back as `Date`; `bigint` columns read back as strings (pg's default), so code
 * converts them with `Number` where the values stay far below 2^53.
 */
export interface Database {
  teams: TeamsTable;
  projects: ProjectsTable;
  environments: EnvironmentsTable;
  users: UsersTable;
  team_members: TeamMembersTable;
  team_invites: TeamInvitesTable;
  service_tokens: ServiceTokensTable;
  signing_keys: SigningKeysTable;
  deployments: DeploymentsTable;
  data_planes: DataPlanesTable;
  data_plane_instances: DataPlaneInstancesTable;
  data_plane_leases: DataPlaneLeasesTable;
  audit_log: AuditLogTable;
  sessions: SessionsTable;
  custom_roles: CustomRolesTable;
  environment_roles: EnvironmentRolesTable;
  secrets: SecretsTable;
  usage_hourly: UsageHourlyTable;
  usage_reports: UsageReportsTable;
  oidc_transactions: OidcTransactionsTable;
  batch_jobs: BatchJobsTable;
  batch_reports: BatchReportsTable;
  schedules: SchedulesTable;
  device_authorizations: DeviceAuthorizationsTable;
  schedule_deliveries: ScheduleDeliveriesTable;
  metric_points: MetricPointsTable;
  metric_receipts: MetricReceiptsTable;
  metric_checks: MetricChecksTable;
  incidents: IncidentsTable;
  alert_routes: AlertRoutesTable;
  alert_deliveries: AlertDeliveriesTable;
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  model_aliases: ModelAliasesTable;
  model_alias_history: ModelAliasHistoryTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface TeamsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ProjectsTable {
  id: string;
  name: string;
  team_id: string;
  created_at: CreatedAt;
}

export interface EnvironmentsTable {
  id: string;
  name: string;
  project_id: string;
  team_id: string;
  data_plane_id: string | null;
  /** What the data plane reports as serving. */
  active_deployment_id: string | null;
  /** What the data plane should be serving (set by deploy/redeploy). */
  desired_deployment_id: string | null;
  /** What the data plane reports it provisioned (buckets, online namespace), verbatim. */
  provisioned: Json<unknown> | null;
  provisioned_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  created_at: CreatedAt;
}

export interface TeamMembersTable {
  user_id: string;
  team_id: string;
  role: string;
  created_at: CreatedAt;
}

export interface TeamInvitesTable {
  id: string;
  team_id: string;
  email: string;
  role: string;
  accepted_at: Timestamp | null;
  created_at: CreatedAt;
}

/** An RFC 8628 device authorization (`slate login`); codes only as sha256 hashes. */
export interface DeviceAuthorizationsTable {
  id: string;
  device_code_hash: string;
  user_code_hash: string;
  client_name: string;
  status: 'pending' | 'approved' | 'denied' | 'consumed';
  interval_s: number;
  last_polled_at: Timestamp | null;
  user_id: string | null;
  environment_id: string | null;
  permissions: Json<string[]> | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface ServiceTokensTable {
  id: string;
  client_id: string;
  secret_hash: string;
  environment_id: string;
  name: string;
  permissions: Json<string[]>;
  created_at: CreatedAt;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  /** Feature-tag rules `{default, tags: {tag: ALLOW|DENY}}`, carried in the JWT for the data plane. */
  feature_permissions: Json<unknown> | null;
  rotated_at: Timestamp | null;
}

export interface SigningKeysTable {
  kid: string;
  public_jwk: Json<Record<string, unknown>>;
  /** Only in installations from before envelopes, until the next start encrypts it (then null). */
  private_jwk: Json<Record<string, unknown>> | null;
  /** The private JWK, AES-256-GCM under a data key wrapped by the key-encryption key (`KeyEnvelope`). */
  private_key_envelope: Json<Record<string, unknown>> | null;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
}

export interface DeploymentsTable {
  id: string;
  /** Insertion order, so "newest first" is exact even when two deployments share a millisecond. */
  seq: Generated<string>;
  environment_id: string;
  status: string;
  graph: Json<unknown>;
  bundle_key: string;
  source_hash: string;
  git: Json<Record<string, string>> | null;
  created_by: string;
  created_at: CreatedAt;
  activated_at: Timestamp | null;
  error: string | null;
  /** The working tree had uncommitted changes at apply (null: unknown). */
  dirty: boolean | null;
  /** sha256 of the diff against the then-active deployment, as `slate diff` computed it. */
  diff_hash: string | null;
}

export interface DataPlanesTable {
  id: string;
  name: string;
  url: string;
  token_hash: string;
  public_key: string | null;
  /** Bumped whenever anything this data plane should know changes; long polls compare against it. */
  revision: Generated<string>;
  last_heartbeat_at: Timestamp | null;
  status: Json<unknown> | null;
  created_at: CreatedAt;
}

/** One instance (replica) of a data plane: its own secret, heartbeat and status. */
export interface DataPlaneInstancesTable {
  data_plane_id: string;
  instance_id: string;
  token_hash: string;
  url: string;
  roles: Json<string[]>;
  version: string | null;
  public_key: string | null;
  last_heartbeat_at: Timestamp | null;
  status: Json<unknown> | null;
  /** When the instance last registered (a restart registers again). */
  registered_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A job lease: which instance of a data plane runs the job `key`, until when. */
export interface DataPlaneLeasesTable {
  data_plane_id: string;
  key: string;
  holder: string;
  expires_at: Timestamp;
  generation: Generated<number>;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: CreatedAt;
  principal: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: string;
  trace_id: string | null;
  /** The team whose log it belongs to (null: installation-wide). Added by migration 0003. */
  team_id: string | null;
}

export interface SessionsTable {
  /** sha256 of the cookie value: a leaked table does not yield live sessions. */
  id_hash: string;
  user_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface CustomRolesTable {
  id: string;
  team_id: string;
  name: string;
  description: string;
  permissions: Json<string[]>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface EnvironmentRolesTable {
  user_id: string;
  environment_id: string;
  /** A built-in role name or a custom role id. */
  role: string;
  created_at: CreatedAt;
}

export interface SecretsTable {
  environment_id: string;
  name: string;
  /** Sealed to `data_plane_id`'s X25519 public key; the metadata plane cannot open it. */
  sealed: string;
  data_plane_id: string;
  updated_by: string;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface UsageHourlyTable {
  environment_id: string;
  hour: Timestamp;
  queries: ColumnType<string, number | string, number | string>;
  rows: ColumnType<string, number | string, number | string>;
  compute_seconds: number;
}

export interface UsageReportsTable {
  id: string;
  data_plane_id: string;
  received_at: CreatedAt;
}

export interface OidcTransactionsTable {
  /** sha256 of the `state` parameter. */
  state_hash: string;
  provider: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  expires_at: Timestamp;
}

export type TeamRow = Selectable<TeamsTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
export type ServiceTokenRow = Selectable<ServiceTokensTable>;
export type DataPlaneRow = Selectable<DataPlanesTable>;
export type NewAuditEntry = Insertable<AuditLogTable>;

export interface BatchJobsTable {
  id: string;
  environment_id: string;
  data_plane_id: string;
  kind: string;
  name: string | null;
  status: string;
  progress: number | null;
  error: string | null;
  created_at: CreatedAt;
  reported_at: Timestamp;
}

/** The final report of a finished offline query or run (`batch-report` queue); `report` is its JSON. */
export interface BatchReportsTable {
  operation_id: string;
  environment_id: string;
  data_plane_id: string;
  kind: string;
  status: string;
  report: Json<unknown>;
  finished_at: Timestamp;
  reported_at: Timestamp;
  received_at: CreatedAt;
}

/** A cron resolver or scheduled query of an environment, with its control state and watermark. */
export interface SchedulesTable {
  environment_id: string;
  kind: 'resolver' | 'query';
  name: string;
  schedule: string;
  state: 'PLAY' | 'PAUSE';
  active: boolean;
  deployment_id: string | null;
  watermark_at: Timestamp;
  last_fired_at: Timestamp | null;
  updated_at: UpdatedAt;
}

/** A trigger waiting for (or leased by, or accepted by) the environment's data plane. */
export interface ScheduleDeliveriesTable {
  key: string;
  environment_id: string;
  kind: 'resolver' | 'query';
  name: string;
  due_at: Timestamp;
  body: Json<Record<string, unknown>>;
  status: 'pending' | 'accepted' | 'dead';
  attempts: number;
  leased_until: Timestamp | null;
  leased_by: string | null;
  error: string | null;
  operation_id: string | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface MetricPointsTable {
  environment_id: string;
  resolution: '1m' | '1h';
  kind: string;
  name: string;
  bucket: Timestamp;
  count: number;
  errors: number;
  nulls: number;
  hits: number;
  misses: number;
  sum: number;
  min: number | null;
  max: number | null;
  hist: Json<Record<string, number>> | null;
}

export interface MetricReceiptsTable {
  source: string;
  environment_id: string;
  kind: string;
  name: string;
  minute: Timestamp;
  received_at: CreatedAt;
}

export interface ModelsTable {
  environment_id: string;
  name: string;
  description: string | null;
  created_by: string;
  created_at: CreatedAt;
}

export interface ModelVersionsTable {
  environment_id: string;
  model_name: string;
  version: number;
  format: string;
  sha256: string;
  size_bytes: ColumnType<string, number, never>;
  parts: Json<readonly { sha256: string; size: number }[]>;
  input_schema: Json<unknown>;
  output_schema: Json<unknown>;
  metadata: Json<Record<string, unknown>>;
  metrics: Json<Record<string, number>>;
  training_dataset_revision: string | null;
  created_by: string;
  created_at: CreatedAt;
}

export interface ModelAliasesTable {
  environment_id: string;
  model_name: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: Timestamp;
}

export interface ModelAliasHistoryTable {
  id: Generated<string>;
  environment_id: string;
  model_name: string;
  alias: string;
  from_version: number | null;
  to_version: number;
  moved_by: string;
  moved_at: Timestamp;
}
