/**
 * Wire shapes of the metadata plane's REST API, as the web app reads them. Fields the UI does not need
 * are left out; optional ones are those an older or newer server may omit.
 */

/** `{items, next_cursor}` of every list endpoint; `next_cursor` is null on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly next_cursor: string | null;
}

export interface PageQuery {
  readonly limit?: number;
  readonly cursor?: string | null;
}

export interface Me {
  readonly user: { readonly id: string; readonly email: string; readonly name: string };
  readonly teams: readonly { readonly id: string; readonly name: string; readonly role: string }[];
}

/** `GET /v1/auth/providers`: how this installation signs people in. */
export interface AuthProviders {
  /** OIDC identity providers; `login_url` starts the redirect flow (add `?return_to=/path`). */
  readonly providers: readonly { readonly id: string; readonly name: string; readonly login_url: string }[];
  /** The email form (`POST /v1/auth/local-login`): embedded mode (`slate up`) only. */
  readonly local_login: boolean;
}

export interface Team {
  readonly id: string;
  readonly name: string;
  readonly created_at?: string;
}

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly team_id: string;
  readonly created_at?: string;
}

export interface Environment {
  readonly id: string;
  readonly name: string;
  readonly project_id: string;
  readonly team_id: string;
  readonly data_plane_id: string | null;
  readonly active_deployment_id: string | null;
  readonly desired_deployment_id?: string | null;
  readonly created_at: string;
}

/** Chalk's deployment statuses (chalk.md §4); unknown strings are tolerated and shown as they are. */
export type DeploymentStatus =
  | 'UNKNOWN'
  | 'PENDING'
  | 'QUEUED'
  | 'WORKING'
  | 'SUCCESS'
  | 'FAILURE'
  | 'INTERNAL_ERROR'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'BOOT_ERRORS'
  | 'AWAITING_SOURCE'
  | 'DEPLOYING'
  | (string & {});

export interface GitInfo {
  readonly commit?: string;
  readonly branch?: string;
  readonly author?: string;
  readonly message?: string;
}

export interface GraphSummary {
  readonly namespaces: number;
  readonly features: number;
  readonly resolvers: number;
  readonly named_queries?: number;
}

export interface Deployment {
  readonly id: string;
  readonly environment_id: string;
  readonly status: DeploymentStatus;
  readonly created_at: string;
  readonly activated_at: string | null;
  readonly error: string | null;
  readonly git: GitInfo | null;
  readonly created_by?: string;
  /** The data plane reports this deployment as serving. */
  readonly active?: boolean;
  /** The deployment the data plane is asked to serve (may still be rolling out). */
  readonly desired?: boolean;
  readonly graph_summary?: GraphSummary;
}

/** A dtype is `{type: 'int'}`, `{type: 'list', of}`, … in the graph artifact; older servers may send a string. */
export type DType = string | { readonly type: string; readonly [key: string]: unknown };

export interface FeatureSpec {
  readonly fqn: string;
  readonly name?: string;
  readonly kind: string;
  readonly dtype?: DType;
  readonly target?: string;
  readonly primary?: boolean;
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
  readonly maxStalenessS?: number | null;
  readonly source?: SourceLocation;
  /** Relationships: each `foreign` feature of `target` equals the `local` feature. */
  readonly join?: readonly { readonly local: string; readonly foreign: string }[];
  /** Set when the feature is computed by an expression rather than a resolver. */
  readonly expression?: unknown;
  readonly versions?: number;
  readonly nullable?: boolean;
}

/** Where a definition stands in the feature repository (collected by the SDK when it can tell). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export interface NamespaceSpec {
  readonly name: string;
  readonly primaryKey: string;
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
  readonly features: readonly FeatureSpec[];
}

/** A resolver input is `{type, param, fqn}` in the graph artifact; older servers may send the fqn string. */
export type ResolverInput =
  | string
  | { readonly type?: string; readonly param?: string; readonly fqn: string };
export type ResolverOutput = string | { readonly param?: string; readonly fqn: string };

export interface ResolverSpec {
  readonly fqn: string;
  readonly kind: string;
  readonly inputs: readonly ResolverInput[];
  readonly outputs: readonly ResolverOutput[];
  readonly tags?: readonly string[];
  readonly environments?: readonly string[];
  readonly cron?: string;
  readonly description?: string;
  readonly owner?: string;
  readonly source?: SourceLocation;
  /** Present on SQL resolvers (the data source they query). */
  readonly sql?: { readonly dataSource?: string; readonly query?: string; readonly file?: string };
  /** Present on streaming resolvers (the topic they read). */
  readonly stream?: { readonly topic?: string; readonly mode?: string };
  readonly timeoutMs?: number;
}

export interface Graph {
  readonly namespaces: readonly NamespaceSpec[];
  readonly resolvers: readonly ResolverSpec[];
}

/** `GET /v1/deployments/:id`: the deployment and, when the server includes it, its feature graph. */
export interface DeploymentDetail extends Deployment {
  readonly graph?: Graph;
}

export interface ServiceToken {
  readonly id: string;
  readonly client_id: string;
  readonly name: string;
  readonly permissions: readonly string[];
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly revoked_at: string | null;
}

export interface CreateTokenInput {
  readonly name: string;
  readonly permissions: readonly string[];
}

/** The only response that carries `client_secret`. */
export interface CreatedToken {
  readonly id: string;
  readonly client_id: string;
  readonly client_secret: string;
}

export interface DataPlane {
  readonly id: string;
  readonly name: string;
  readonly url: string | null;
  readonly last_heartbeat_at: string | null;
  readonly healthy: boolean;
  /** Its replicas, each with its own health (absent from servers older than instances). */
  readonly instances?: readonly DataPlaneInstance[];
}

/** One instance (replica) of a data plane. */
export interface DataPlaneInstance {
  readonly instance_id: string;
  readonly url: string;
  /** `query`, `persistence`, `streaming`, `jobs`. */
  readonly roles: readonly string[];
  readonly version: string | null;
  readonly last_heartbeat_at: string | null;
  readonly healthy: boolean;
  /** environment id → the deployment this instance serves (null: none loaded). */
  readonly deployments: Readonly<Record<string, string | null>>;
  readonly registered_at: string;
}

/** A series request: metric, `[from, to)`, window (`1m`, `5m`, `1h`), aggregation, one name, group by name. */
export interface MetricSeriesQuery {
  readonly metric: string;
  readonly from: string;
  readonly to: string;
  readonly window?: string;
  readonly aggregation?: string;
  readonly name?: string;
  readonly group_by?: 'name';
}

/** Bucket starts (epoch seconds) and one value per bucket per series (`null`: nothing measured). */
export interface MetricSeries {
  readonly metric: string;
  readonly aggregation: string;
  readonly window_seconds: number;
  readonly resolution: string;
  readonly from: string;
  readonly to: string;
  readonly timestamps: readonly number[];
  readonly series: readonly { readonly name: string | null; readonly values: readonly (number | null)[] }[];
}

/** An environment's metered usage per UTC hour (hours without usage are absent). */
export interface Usage {
  readonly environment_id: string;
  readonly from: string;
  readonly to: string;
  readonly hours: readonly { hour: string; queries: number; rows: number; compute_seconds: number }[];
  readonly totals: { queries: number; rows: number; compute_seconds: number };
}

/** Long-running work on a data plane (an offline query or a resolver run) as last reported. */
export interface BatchJob {
  readonly id: string;
  readonly environment_id: string;
  readonly kind: 'OFFLINE_QUERY' | 'RUN' | string;
  readonly name: string | null;
  readonly status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | string;
  readonly progress: number | null;
  readonly error: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** The final report a data plane sends when an offline query or a run ends. */
export interface BatchReport {
  readonly operation_id: string;
  readonly kind: 'OFFLINE_QUERY' | 'RUN' | string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELED' | string;
  readonly deployment_id?: string | null;
  readonly started_at?: string | null;
  readonly finished_at: string;
  readonly duration_ms: number;
  readonly rows: number;
  readonly columns: readonly { name: string; dtype: string }[];
  readonly bytes_written?: number | null;
  readonly output?: {
    readonly bucket: string;
    readonly keys: readonly string[];
    readonly dataset_id: string;
    readonly dataset_name?: string | null;
    readonly revision_id: string;
  } | null;
  readonly errors: readonly { code: string; message: string; feature?: string }[];
  readonly attempts: number;
}

/** One job with its final report (`null` while it runs or until the report arrives). */
export interface BatchJobDetail extends BatchJob {
  readonly report: BatchReport | null;
}

/** What a schedule fires: a `cron` resolver (a run) or a scheduled query (an offline query). */
export type ScheduleKind = 'resolver' | 'query';

/** A cron resolver or scheduled query of an environment's active deployment, as the metadata plane fires it. */
export interface Schedule {
  readonly environment_id: string;
  readonly kind: ScheduleKind | string;
  /** The resolver's FQN or the scheduled query's name. */
  readonly name: string;
  /** A crontab (`0 3 * * *`, UTC) or a period (`1h`). */
  readonly schedule: string;
  readonly state: 'PLAY' | 'PAUSE' | string;
  readonly deployment_id: string | null;
  /** Null while paused; in the past while the scheduler catches up. */
  readonly next_fire_at: string | null;
  readonly last_fired_at: string | null;
  readonly updated_at: string;
}

/** One fire of a schedule: its delivery to the data plane and the run's or query's status once reported. */
export interface ScheduleFire {
  readonly key: string;
  readonly due_at: string;
  /** `pending` (waiting for or leased by the data plane), `accepted` (started) or `dead` (given up). */
  readonly delivery: 'pending' | 'accepted' | 'dead' | string;
  readonly attempts: number;
  readonly error: string | null;
  /** The run id or offline-query revision id the data plane started. */
  readonly operation_id: string | null;
  /** The job's latest status (`QUEUED` … `CANCELED`), once its data plane reported it. */
  readonly status: string | null;
  readonly created_at: string;
}
