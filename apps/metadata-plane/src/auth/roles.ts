import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import { isBuiltInRole, type Permission, PermissionSchema, ROLE_PERMISSIONS, ROLES } from './permissions.ts';

/** A role as the API shows it: built-in (`id` = its name) or custom (`id` = `role_…`). */
export interface RoleView {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly permissions: Permission[];
  readonly built_in: boolean;
  readonly team_id: string | null;
}

const BUILT_IN_DESCRIPTIONS: Record<(typeof ROLES)[number], string> = {
  owner: 'Everything, including billing and authentication settings',
  admin: 'Everything: members, roles, tokens, secrets, deployments',
  developer: 'Deploy, query, read operational data and secret names',
  viewer: 'Read deployments, logs, monitoring and schedules',
};

export const CustomRoleBodySchema = z.object({
  name: z.string().trim().min(1).max(100),
  description: z.string().max(1000).default(''),
  permissions: z.array(PermissionSchema).min(1),
});
export type CustomRoleBody = z.output<typeof CustomRoleBodySchema>;

/**
 * The permissions a role reference grants: a built-in role's from the one table, a custom role's from
 * the database (only if it belongs to `teamId`; unknown → none, so a deleted role grants nothing).
 */
export async function resolveRolePermissions(
  db: Kysely<Database>,
  teamId: string,
  role: string,
): Promise<ReadonlySet<Permission>> {
  if (isBuiltInRole(role)) return ROLE_PERMISSIONS[role];
  const row = await db
    .selectFrom('custom_roles')
    .select('permissions')
    .where('id', '=', role)
    .where('team_id', '=', teamId)
    .executeTakeFirst();
  return new Set(
    (row?.permissions ?? []).filter((p) => PermissionSchema.safeParse(p).success) as Permission[],
  );
}

/** Built-in roles first, then the team's custom roles by name. */
export async function listRoles(db: Kysely<Database>, teamId: string): Promise<RoleView[]> {
  const custom = await db
    .selectFrom('custom_roles')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('name')
    .execute();
  return [
    ...ROLES.map((r) => ({
      id: r,
      name: r,
      description: BUILT_IN_DESCRIPTIONS[r],
      permissions: [...ROLE_PERMISSIONS[r]].sort(),
      built_in: true,
      team_id: null,
    })),
    ...custom.map((r) => customView(r)),
  ];
}

function customView(r: {
  id: string;
  name: string;
  description: string;
  permissions: string[];
  team_id: string;
}): RoleView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    permissions: [...r.permissions].sort() as Permission[],
    built_in: false,
    team_id: r.team_id,
  };
}

/** @throws SlateError conflict `ROLE_NAME_TAKEN` */
export async function createCustomRole(
  db: Kysely<Database>,
  teamId: string,
  body: CustomRoleBody,
): Promise<RoleView> {
  if (isBuiltInRole(body.name) || (await roleByName(db, teamId, body.name))) {
    throw new SlateError('conflict', 'ROLE_NAME_TAKEN', `a role named '${body.name}' already exists`);
  }
  const row = await db
    .insertInto('custom_roles')
    .values({
      id: newId('role', 10),
      team_id: teamId,
      name: body.name,
      description: body.description,
      permissions: JSON.stringify([...new Set(body.permissions)].sort()),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return customView(row);
}

async function roleByName(db: Kysely<Database>, teamId: string, name: string) {
  return db
    .selectFrom('custom_roles')
    .select('id')
    .where('team_id', '=', teamId)
    .where('name', '=', name)
    .executeTakeFirst();
}

/** @throws SlateError not_found `ROLE_NOT_FOUND` (built-in roles cannot be changed) */
export async function getCustomRole(db: Kysely<Database>, id: string): Promise<RoleView> {
  const row = await db.selectFrom('custom_roles').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'ROLE_NOT_FOUND', `custom role ${id} does not exist`);
  return customView(row);
}

/** Replaces a custom role's name, description and permissions (members' rights change at once). */
export async function updateCustomRole(
  db: Kysely<Database>,
  id: string,
  body: CustomRoleBody,
  now: Date,
): Promise<RoleView> {
  const current = await getCustomRole(db, id);
  const clash = await roleByName(db, current.team_id!, body.name);
  if (isBuiltInRole(body.name) || (clash && clash.id !== id)) {
    throw new SlateError('conflict', 'ROLE_NAME_TAKEN', `a role named '${body.name}' already exists`);
  }
  const row = await db
    .updateTable('custom_roles')
    .set({
      name: body.name,
      description: body.description,
      permissions: JSON.stringify([...new Set(body.permissions)].sort()),
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return customView(row);
}

/** @throws SlateError conflict `ROLE_IN_USE` while a member, environment role or invite holds it. */
export async function deleteCustomRole(db: Kysely<Database>, id: string): Promise<void> {
  await getCustomRole(db, id);
  const [members, envRoles, invites] = await Promise.all([
    db.selectFrom('team_members').select('user_id').where('role', '=', id).limit(1).execute(),
    db.selectFrom('environment_roles').select('user_id').where('role', '=', id).limit(1).execute(),
    db
      .selectFrom('team_invites')
      .select('id')
      .where('role', '=', id)
      .where('accepted_at', 'is', null)
      .limit(1)
      .execute(),
  ]);
  if (members.length + envRoles.length + invites.length > 0) {
    throw new SlateError('conflict', 'ROLE_IN_USE', `role ${id} is still assigned; reassign it first`);
  }
  await db.deleteFrom('custom_roles').where('id', '=', id).execute();
}

/**
 * Checks that `role` can be assigned in `teamId`: a built-in role, or a custom role of that team.
 * @throws SlateError input `UNKNOWN_ROLE`
 */
export async function assertAssignableRole(
  db: Kysely<Database>,
  teamId: string,
  role: string,
): Promise<void> {
  if (isBuiltInRole(role)) return;
  const row = await db
    .selectFrom('custom_roles')
    .select('id')
    .where('id', '=', role)
    .where('team_id', '=', teamId)
    .executeTakeFirst();
  if (!row) throw new SlateError('input', 'UNKNOWN_ROLE', `'${role}' is not a role of team ${teamId}`);
}
