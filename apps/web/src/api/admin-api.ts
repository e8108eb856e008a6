import type {
  AuditEntry,
  AuditFilter,
  CreateEnvironmentInput,
  CreateProjectInput,
  CreateTeamInput,
  CustomRoleInput,
  Environment,
  Invite,
  InviteInput,
  Member,
  Page,
  PageQuery,
  Project,
  Role,
  RotatedToken,
  Secret,
  Team,
} from '@slate/client';
import type { HttpClient } from './http-client.ts';

/**
 * The administration endpoints the web app calls: teams, projects, environments, members, invites,
 * roles, secrets, token rotation and the filtered audit log. Wire types come from `@slate/client`.
 */
export interface AdminApi {
  createTeam(input: CreateTeamInput): Promise<Team>;
  renameTeam(id: string, name: string): Promise<Team>;
  createProject(input: CreateProjectInput): Promise<Project>;
  renameProject(id: string, name: string): Promise<Project>;
  createEnvironment(input: CreateEnvironmentInput): Promise<Environment>;
  renameEnvironment(id: string, name: string): Promise<Environment>;
  members(teamId: string, signal?: AbortSignal): Promise<{ items: Member[] }>;
  setMemberRole(teamId: string, userId: string, role: string): Promise<unknown>;
  removeMember(teamId: string, userId: string): Promise<unknown>;
  invites(teamId: string, signal?: AbortSignal): Promise<{ items: Invite[] }>;
  invite(teamId: string, input: InviteInput): Promise<Invite>;
  withdrawInvite(id: string): Promise<unknown>;
  roles(teamId: string, signal?: AbortSignal): Promise<{ items: Role[] }>;
  createRole(teamId: string, input: CustomRoleInput): Promise<Role>;
  updateRole(id: string, input: CustomRoleInput): Promise<Role>;
  deleteRole(id: string): Promise<unknown>;
  secrets(environmentId: string, signal?: AbortSignal): Promise<{ items: Secret[] }>;
  /** Write-only: the answer names the secret, never its value. */
  setSecret(environmentId: string, name: string, value: string): Promise<Secret>;
  deleteSecret(environmentId: string, name: string): Promise<unknown>;
  /** A new client secret for the token (answered only here); the old one stops working at once. */
  rotateToken(id: string): Promise<RotatedToken>;
  auditLog(filter: AuditFilter, page?: PageQuery, signal?: AbortSignal): Promise<Page<AuditEntry>>;
}

const enc = encodeURIComponent;

/** Binds the administration endpoints to a transport. */
export function createAdminApi(http: HttpClient): AdminApi {
  return {
    createTeam: (input) => http.request('POST', '/v1/teams', { body: input }),
    renameTeam: (id, name) => http.request('PUT', `/v1/teams/${enc(id)}`, { body: { name } }),
    createProject: (input) => http.request('POST', '/v1/projects', { body: input }),
    renameProject: (id, name) => http.request('PUT', `/v1/projects/${enc(id)}`, { body: { name } }),
    createEnvironment: (input) => http.request('POST', '/v1/environments', { body: input }),
    renameEnvironment: (id, name) => http.request('PUT', `/v1/environments/${enc(id)}`, { body: { name } }),
    members: (teamId, signal) => http.request('GET', `/v1/teams/${enc(teamId)}/members`, { signal }),
    setMemberRole: (teamId, userId, role) =>
      http.request('PUT', `/v1/teams/${enc(teamId)}/members/${enc(userId)}/role`, { body: { role } }),
    removeMember: (teamId, userId) =>
      http.request('DELETE', `/v1/teams/${enc(teamId)}/members/${enc(userId)}`),
    invites: (teamId, signal) => http.request('GET', `/v1/teams/${enc(teamId)}/invites`, { signal }),
    invite: (teamId, input) => http.request('POST', `/v1/teams/${enc(teamId)}/invites`, { body: input }),
    withdrawInvite: (id) => http.request('DELETE', `/v1/invites/${enc(id)}`),
    roles: (teamId, signal) => http.request('GET', `/v1/teams/${enc(teamId)}/roles`, { signal }),
    createRole: (teamId, input) => http.request('POST', `/v1/teams/${enc(teamId)}/roles`, { body: input }),
    updateRole: (id, input) => http.request('PUT', `/v1/roles/${enc(id)}`, { body: input }),
    deleteRole: (id) => http.request('DELETE', `/v1/roles/${enc(id)}`),
    secrets: (environmentId, signal) =>
      http.request('GET', `/v1/environments/${enc(environmentId)}/secrets`, { signal }),
    setSecret: (environmentId, name, value) =>
      http.request('PUT', `/v1/environments/${enc(environmentId)}/secrets/${enc(name)}`, { body: { value } }),
    deleteSecret: (environmentId, name) =>
      http.request('DELETE', `/v1/environments/${enc(environmentId)}/secrets/${enc(name)}`),
    rotateToken: (id) => http.request('POST', `/v1/tokens/${enc(id)}/rotate`),
    auditLog: (filter, page, signal) =>
      http.request('GET', '/v1/audit-log', {
        query: { ...filter, limit: page?.limit, cursor: page?.cursor },
        signal,
      }),
  };
}
