import type {
  AuthProviders,
  BatchJob,
  BatchJobDetail,
  CreatedToken,
  CreateTokenInput,
  DataPlane,
  Deployment,
  DeploymentDetail,
  Environment,
  Me,
  MetricSeries,
  MetricSeriesQuery,
  Page,
  PageQuery,
  Project,
  Schedule,
  ScheduleFire,
  ServiceToken,
  Team,
  Usage,
} from '@slate/client';
import { type AdminApi, createAdminApi } from './admin-api.ts';
import type { HttpClient } from './http-client.ts';
import { createQueryApi, type QueryApi } from './query-api.ts';

/**
 * Every endpoint the web app calls, typed: the metadata plane's, and the data-plane routes it forwards
 * ({@link QueryApi}). Nothing else in the app builds URLs.
 */
export interface SlateApi extends QueryApi {
  /** Teams, projects, environments, members, invites, roles, secrets, token rotation, the audit log. */
  readonly admin: AdminApi;
  /** Sign-in methods (public: no session needed). */
  authProviders(signal?: AbortSignal): Promise<AuthProviders>;
  localLogin(email: string): Promise<unknown>;
  logout(): Promise<unknown>;
  /** The pending `slate login` a user code names (RFC 8628 device grant). */
  deviceLogin(userCode: string, signal?: AbortSignal): Promise<{ client_name: string; expires_at: string }>;
  /** Approves (or denies) a pending `slate login` for one environment. */
  decideDeviceLogin(input: {
    user_code: string;
    environment_id: string;
    approve: boolean;
  }): Promise<{ approved: boolean; environment_id: string; permissions: string[] }>;
  me(signal?: AbortSignal): Promise<Me>;
  teams(page?: PageQuery, signal?: AbortSignal): Promise<Page<Team>>;
  projects(page?: PageQuery, signal?: AbortSignal): Promise<Page<Project>>;
  environments(page?: PageQuery, signal?: AbortSignal): Promise<Page<Environment>>;
  environment(id: string, signal?: AbortSignal): Promise<Environment>;
  deployments(environmentId: string, page?: PageQuery, signal?: AbortSignal): Promise<Page<Deployment>>;
  deployment(id: string, signal?: AbortSignal): Promise<DeploymentDetail>;
  redeploy(id: string): Promise<Deployment>;
  tokens(environmentId: string, page?: PageQuery, signal?: AbortSignal): Promise<Page<ServiceToken>>;
  createToken(environmentId: string, input: CreateTokenInput): Promise<CreatedToken>;
  revokeToken(id: string): Promise<unknown>;
  dataPlanes(page?: PageQuery, signal?: AbortSignal): Promise<Page<DataPlane>>;
  usage(environmentId: string, range: { from: string; to: string }, signal?: AbortSignal): Promise<Usage>;
  /** A metric of the environment over time, from the per-minute rollups (`monitoring.read`). */
  metricSeries(environmentId: string, query: MetricSeriesQuery, signal?: AbortSignal): Promise<MetricSeries>;
  jobs(environmentId: string, page?: PageQuery, signal?: AbortSignal): Promise<Page<BatchJob>>;
  job(environmentId: string, operationId: string, signal?: AbortSignal): Promise<BatchJobDetail>;
  /** Cron resolvers and scheduled queries with state and next/last fire (needs `cron.read`). */
  schedules(environmentId: string, signal?: AbortSignal): Promise<{ items: Schedule[] }>;
  /** A schedule's fires, newest due time first (`limit` 1–500, default 50). */
  scheduleFires(
    environmentId: string,
    schedule: { kind: string; name: string },
    limit?: number,
    signal?: AbortSignal,
  ): Promise<{ items: ScheduleFire[] }>;
  /** PAUSE or PLAY a schedule (needs `cron.create`); answers the schedule as it now is. */
  controlSchedule(
    environmentId: string,
    schedule: { kind: string; name: string },
    action: 'pause' | 'resume',
  ): Promise<Schedule>;
}

const enc = encodeURIComponent;

/**
 * Binds the endpoint table to a transport.
 *
 * @example
 * const api = createSlateApi(createHttpClient());
 * const { items } = await api.deployments('env_123', { limit: 20 });
 */
export function createSlateApi(http: HttpClient): SlateApi {
  const page = (p: PageQuery | undefined) => ({ limit: p?.limit, cursor: p?.cursor });
  return {
    ...createQueryApi(http),
    admin: createAdminApi(http),
    authProviders: (signal) => http.request('GET', '/v1/auth/providers', { signal }),
    localLogin: (email) => http.request('POST', '/v1/auth/local-login', { body: { email } }),
    logout: () => http.request('POST', '/v1/auth/logout'),
    deviceLogin: (userCode, signal) =>
      http.request('GET', '/v1/oauth/device', { query: { user_code: userCode }, signal }),
    decideDeviceLogin: (input) => http.request('POST', '/v1/oauth/device/decision', { body: input }),
    me: (signal) => http.request('GET', '/v1/me', { signal }),
    teams: (p, signal) => http.request('GET', '/v1/teams', { query: page(p), signal }),
    projects: (p, signal) => http.request('GET', '/v1/projects', { query: page(p), signal }),
    environments: (p, signal) => http.request('GET', '/v1/environments', { query: page(p), signal }),
    environment: (id, signal) => http.request('GET', `/v1/environments/${enc(id)}`, { signal }),
    deployments: (environmentId, p, signal) =>
      http.request('GET', '/v1/deployments', {
        query: { environment_id: environmentId, ...page(p) },
        signal,
      }),
    deployment: (id, signal) => http.request('GET', `/v1/deployments/${enc(id)}`, { signal }),
    redeploy: (id) => http.request('POST', `/v1/deployments/${enc(id)}/redeploy`),
    tokens: (environmentId, p, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/tokens`, { query: page(p), signal }),
    createToken: (environmentId, input) =>
      http.request('POST', `/v1/environments/${enc(environmentId)}/tokens`, { body: input }),
    revokeToken: (id) => http.request('DELETE', `/v1/tokens/${enc(id)}`),
    dataPlanes: (p, signal) => http.request('GET', '/v1/data-planes', { query: page(p), signal }),
    usage: (environmentId, range, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/usage`, { query: range, signal }),
    metricSeries: (environmentId, query, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/metrics/series`, {
        query: { ...query },
        signal,
      }),
    jobs: (environmentId, p, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/jobs`, { query: page(p), signal }),
    job: (environmentId, operationId, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/jobs/${enc(operationId)}`, { signal }),
    schedules: (environmentId, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/schedules`, { signal }),
    scheduleFires: (environmentId, schedule, limit, signal) =>
      http.request(
        'GET',
        `/v1/environments/${enc(environmentId)}/schedules/${enc(schedule.kind)}/${enc(schedule.name)}/fires`,
        { query: { limit }, signal },
      ),
    controlSchedule: (environmentId, schedule, action) =>
      http.request(
        'POST',
        `/v1/environments/${enc(environmentId)}/schedules/${enc(schedule.kind)}/${enc(schedule.name)}/${action}`,
      ),
  };
}

/**
 * Follows `next_cursor` until the list ends or `maxItems` is reached, for the small lists (teams,
 * projects, environments) a page needs in full.
 */
export async function listAll<T>(
  fetchPage: (page: PageQuery) => Promise<Page<T>>,
  { pageSize = 200, maxItems = 2_000 }: { pageSize?: number; maxItems?: number } = {},
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await fetchPage({ limit: pageSize, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < maxItems);
  return items;
}
