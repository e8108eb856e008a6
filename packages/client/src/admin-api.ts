import { z } from 'zod';

/**
 * Wire shapes of the metadata plane's administration endpoints (teams, projects, environments, members,
 * invites, roles, secrets, service tokens, the audit log), as `GET`/`POST`/`PUT` answer them. Loose
 * objects: a newer server may add fields, which are kept.
 */

/** `GET /v1/teams` item; `POST /v1/teams` and `PUT /v1/teams/:id` answer. */
export const TeamSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  created_at: z.string().optional(),
});
export type Team = z.infer<typeof TeamSchema>;

/** `GET /v1/projects` item; `POST /v1/projects` and `PUT /v1/projects/:id` answer. */
export const ProjectSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  team_id: z.string(),
  created_at: z.string().optional(),
});
export type Project = z.infer<typeof ProjectSchema>;

/** Body of `PUT /v1/teams/:id`, `/v1/projects/:id` and `/v1/environments/:id`: only the name changes. */
export interface RenameInput {
  readonly name: string;
}

/** Body of `POST /v1/teams` (`id`: lowercase letters and digits, at most 9; generated when absent). */
export interface CreateTeamInput {
  readonly id?: string;
  readonly name: string;
}
/** Body of `POST /v1/projects`. */
export interface CreateProjectInput {
  readonly id?: string;
  readonly name: string;
  readonly team_id: string;
}
/** Body of `POST /v1/environments` (assigned to the least busy data plane unless `data_plane_id`). */
export interface CreateEnvironmentInput {
  readonly id?: string;
  readonly name: string;
  readonly project_id: string;
  readonly data_plane_id?: string;
}

/** `GET /v1/teams/:id/members` item: a team role plus extra roles inside single environments. */
export const MemberSchema = z.looseObject({
  user_id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  environment_roles: z.array(z.looseObject({ environment_id: z.string(), role: z.string() })),
});
export type Member = z.infer<typeof MemberSchema>;

/** `GET /v1/teams/:id/invites` item; accepted at the invitee's first sign-in (`accepted_at` then set). */
export const InviteSchema = z.looseObject({
  id: z.string(),
  team_id: z.string(),
  email: z.string(),
  role: z.string(),
  accepted_at: z.string().nullable(),
  created_at: z.string(),
});
export type Invite = z.infer<typeof InviteSchema>;

/** Body of `POST /v1/teams/:id/invites`; `role` is a built-in role name or a custom role's id. */
export interface InviteInput {
  readonly email: string;
  readonly role: string;
}

/** `GET /v1/teams/:id/roles` item: the four built-in roles (`built_in`, id = name) then the team's own. */
export const RoleSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  permissions: z.array(z.string()),
  built_in: z.boolean(),
  team_id: z.string().nullable(),
});
export type Role = z.infer<typeof RoleSchema>;

/** Body of `POST /v1/teams/:id/roles` and `PUT /v1/roles/:id` (only permissions the caller holds). */
export interface CustomRoleInput {
  readonly name: string;
  readonly description?: string;
  readonly permissions: readonly string[];
}

/** `GET /v1/environments/:id/secrets` item and `PUT …/secrets/:name` answer: never the value. */
export const SecretSchema = z.looseObject({
  name: z.string(),
  environment_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  updated_by: z.string(),
});
export type Secret = z.infer<typeof SecretSchema>;

/** Secret names the metadata plane accepts (`PUT /v1/environments/:id/secrets/:name`). */
export const SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** `POST /v1/tokens/:id/rotate` answer: the new secret, shown this once; the old one stops working. */
export const RotatedTokenSchema = z.looseObject({
  id: z.string(),
  client_id: z.string(),
  client_secret: z.string(),
});
export type RotatedToken = z.infer<typeof RotatedTokenSchema>;

/**
 * `GET /v1/audit-log` item. `principal` is `user:<id>`, `token:<id>` (a service token, including its
 * own token exchanges), `data_plane:<id>` or `anonymous` (an unauthenticated attempt).
 */
export const AuditEntrySchema = z.looseObject({
  id: z.string(),
  at: z.string(),
  principal: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  outcome: z.string(),
  trace_id: z.string().nullable(),
  team_id: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** Query of `GET /v1/audit-log`; every filter optional, combined with AND. */
export interface AuditFilter {
  /** An exact action, or a prefix ending in `.*` (`tokens.*`). */
  readonly action?: string;
  /** An exact principal label (`token:st_…`). */
  readonly principal?: string;
  readonly target?: string;
  /** `success`, `failure` or `failure:<status>`. */
  readonly outcome?: string;
  readonly team_id?: string;
}
