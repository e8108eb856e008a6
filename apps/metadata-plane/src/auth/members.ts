import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { newId } from '../ids.ts';
import type { Permission } from './permissions.ts';
import { assertCan, type Principal } from './principal.ts';
import { assertAssignableRole, resolveRolePermissions } from './roles.ts';

export const RoleAssignmentSchema = z.object({ role: z.string().min(1).max(100) });
export const InviteBodySchema = z.object({ email: z.email(), role: z.string().min(1).max(100) });

export interface MemberView {
  readonly user_id: string;
  readonly email: string;
  readonly name: string;
  readonly role: string;
  readonly environment_roles: { environment_id: string; role: string }[];
}

export async function listMembers(db: Kysely<Database>, teamId: string): Promise<MemberView[]> {
  const members = await db
    .selectFrom('team_members')
    .innerJoin('users', 'users.id', 'team_members.user_id')
    .select(['users.id', 'users.email', 'users.name', 'team_members.role'])
    .where('team_members.team_id', '=', teamId)
    .orderBy('users.email')
    .execute();
  const envRoles = await db
    .selectFrom('environment_roles')
    .innerJoin('environments', 'environments.id', 'environment_roles.environment_id')
    .select(['environment_roles.user_id', 'environment_roles.environment_id', 'environment_roles.role'])
    .where('environments.team_id', '=', teamId)
    .orderBy('environment_roles.environment_id')
    .execute();
  return members.map((m) => ({
    user_id: m.id,
    email: m.email,
    name: m.name,
    role: m.role,
    environment_roles: envRoles
      .filter((e) => e.user_id === m.id)
      .map((e) => ({ environment_id: e.environment_id, role: e.role })),
  }));
}

/**
 * No escalation: whoever grants a role must hold each of its permissions in the same scope.
 * @throws SlateError input `UNKNOWN_ROLE`; not_allowed `PERMISSION_DENIED`
 */
export async function assertMayGrant(
  db: Kysely<Database>,
  principal: Principal,
  role: string,
  scope: { teamId: string; environmentId?: string },
): Promise<void> {
  await assertAssignableRole(db, scope.teamId, role);
  const granted: ReadonlySet<Permission> = await resolveRolePermissions(db, scope.teamId, role);
  for (const permission of granted) assertCan(principal, permission, scope);
}

async function assertMember(db: Kysely<Database>, teamId: string, userId: string): Promise<void> {
  const row = await db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'MEMBER_NOT_FOUND', `user ${userId} is not in team ${teamId}`);
}

/** Keeps at least one owner: the last owner can be neither demoted nor removed. */
async function assertNotLastOwner(db: Kysely<Database>, teamId: string, userId: string): Promise<void> {
  const owners = await db
    .selectFrom('team_members')
    .select('user_id')
    .where('team_id', '=', teamId)
    .where('role', '=', 'owner')
    .execute();
  if (owners.length === 1 && owners[0]?.user_id === userId) {
    throw new SlateError('conflict', 'LAST_OWNER', `user ${userId} is the last owner of team ${teamId}`);
  }
}

export async function setTeamRole(db: Kysely<Database>, teamId: string, userId: string, role: string) {
  await assertMember(db, teamId, userId);
  if (role !== 'owner') await assertNotLastOwner(db, teamId, userId);
  await db
    .updateTable('team_members')
    .set({ role })
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .execute();
}

export async function removeMember(db: Kysely<Database>, teamId: string, userId: string) {
  await assertMember(db, teamId, userId);
  await assertNotLastOwner(db, teamId, userId);
  await db.transaction().execute(async (trx) => {
    const envs = trx.selectFrom('environments').select('id').where('team_id', '=', teamId);
    await trx
      .deleteFrom('environment_roles')
      .where('user_id', '=', userId)
      .where('environment_id', 'in', envs)
      .execute();
    await trx
      .deleteFrom('team_members')
      .where('team_id', '=', teamId)
      .where('user_id', '=', userId)
      .execute();
  });
}

/** Gives a team member an extra role inside one environment (replacing an earlier one there). */
export async function setEnvironmentRole(
  db: Kysely<Database>,
  env: { id: string; team_id: string },
  userId: string,
  role: string,
) {
  await assertMember(db, env.team_id, userId);
  await db
    .insertInto('environment_roles')
    .values({ user_id: userId, environment_id: env.id, role })
    .onConflict((oc) => oc.columns(['user_id', 'environment_id']).doUpdateSet({ role }))
    .execute();
}

export async function removeEnvironmentRole(db: Kysely<Database>, environmentId: string, userId: string) {
  await db
    .deleteFrom('environment_roles')
    .where('environment_id', '=', environmentId)
    .where('user_id', '=', userId)
    .execute();
}

export interface InviteView {
  readonly id: string;
  readonly team_id: string;
  readonly email: string;
  readonly role: string;
  readonly accepted_at: string | null;
  readonly created_at: string;
}

/** Invites an email into a team with a role; accepted at that person's first login (OIDC or local). */
export async function createInvite(
  db: Kysely<Database>,
  teamId: string,
  input: z.output<typeof InviteBodySchema>,
): Promise<InviteView> {
  const row = await db
    .insertInto('team_invites')
    .values({
      id: newId('inv', 12),
      team_id: teamId,
      email: input.email.trim().toLowerCase(),
      role: input.role,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return inviteView(row);
}

function inviteView(row: {
  id: string;
  team_id: string;
  email: string;
  role: string;
  accepted_at: Date | null;
  created_at: Date;
}): InviteView {
  return {
    id: row.id,
    team_id: row.team_id,
    email: row.email,
    role: row.role,
    accepted_at: row.accepted_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
}

export async function listInvites(db: Kysely<Database>, teamId: string): Promise<InviteView[]> {
  const rows = await db
    .selectFrom('team_invites')
    .selectAll()
    .where('team_id', '=', teamId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(inviteView);
}

/** @throws SlateError not_found `INVITE_NOT_FOUND` */
export async function getInvite(db: Kysely<Database>, id: string): Promise<InviteView> {
  const row = await db.selectFrom('team_invites').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new SlateError('not_found', 'INVITE_NOT_FOUND', `invite ${id} does not exist`);
  return inviteView(row);
}

/** Withdraws a pending invite (an accepted one is history and stays). */
export async function expireInvite(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('team_invites').where('id', '=', id).where('accepted_at', 'is', null).execute();
}
