import { SlateError } from '@slate/graph';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { newId, newSecret, sha256Hex } from '../ids.ts';
import type { KeyRing } from './key-ring.ts';
import type { Permission } from './permissions.ts';
import type { UserPrincipal } from './principal.ts';
import { resolveRolePermissions } from './roles.ts';

/** How long a local-login session lasts. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

/** A new session; `cookie` is the secret to hand to the browser (only its sha256 is stored). */
export interface LoginResult {
  readonly cookie: string;
  readonly expiresAt: Date;
  readonly user: { id: string; email: string; name: string };
}

/**
 * Embedded-mode login by email alone: allowed for an existing team member, or for an address with a
 * pending invite (every pending invite for it is accepted, joining those teams with the invites' roles).
 * The seam for real identity providers (OIDC, issue 6) is `loginVerifiedEmail`: an OIDC callback calls it
 * after verifying the id token, and gets the same session.
 *
 * @throws SlateError('authentication', 'UNKNOWN_USER')
 */
export async function loginVerifiedEmail(
  db: Kysely<Database>,
  rawEmail: string,
  now: Date,
): Promise<LoginResult> {
  const email = rawEmail.trim().toLowerCase();
  const user = await db.transaction().execute(async (trx) => {
    const invites = await trx
      .selectFrom('team_invites')
      .selectAll()
      .where('email', '=', email)
      .where('accepted_at', 'is', null)
      .execute();
    let existing = await trx.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    if (!existing) {
      if (invites.length === 0) return undefined;
      existing = await trx
        .insertInto('users')
        .values({ id: newId('u', 12), email, name: email.split('@')[0] ?? email })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    for (const invite of invites) {
      await trx
        .insertInto('team_members')
        .values({ user_id: existing.id, team_id: invite.team_id, role: invite.role })
        .onConflict((oc) => oc.columns(['user_id', 'team_id']).doUpdateSet({ role: invite.role }))
        .execute();
      await trx.updateTable('team_invites').set({ accepted_at: now }).where('id', '=', invite.id).execute();
    }
    const member = await trx
      .selectFrom('team_members')
      .select('team_id')
      .where('user_id', '=', existing.id)
      .executeTakeFirst();
    return member ? existing : undefined;
  });
  if (!user)
    throw new SlateError('authentication', 'UNKNOWN_USER', `no member or pending invite for ${email}`);
  const cookie = newSecret('');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await db
    .insertInto('sessions')
    .values({ id_hash: sha256Hex(cookie), user_id: user.id, expires_at: expiresAt })
    .execute();
  return { cookie, expiresAt, user: { id: user.id, email: user.email, name: user.name } };
}

/** Ends a session; unknown cookies are ignored. */
export async function logout(db: Kysely<Database>, cookie: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256Hex(cookie)).execute();
}

/**
 * The user behind a session cookie.
 * @throws SlateError('authentication', 'INVALID_SESSION') when unknown or expired.
 */
export async function sessionPrincipal(
  db: Kysely<Database>,
  cookie: string,
  now: Date,
): Promise<UserPrincipal> {
  const session = await db
    .selectFrom('sessions')
    .select(['user_id', 'expires_at'])
    .where('id_hash', '=', sha256Hex(cookie))
    .executeTakeFirst();
  if (!session || session.expires_at.getTime() <= now.getTime()) {
    throw new SlateError(
      'authentication',
      'INVALID_SESSION',
      'the session is invalid or expired; log in again',
    );
  }
  return userPrincipal(db, session.user_id, 'session', null);
}

/**
 * A user with their current team roles (read fresh, so role changes apply at once).
 * @throws SlateError('authentication', 'UNKNOWN_USER')
 */
export async function userPrincipal(
  db: Kysely<Database>,
  userId: string,
  via: UserPrincipal['via'],
  environmentId: string | null,
): Promise<UserPrincipal> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  if (!user) throw new SlateError('authentication', 'UNKNOWN_USER', 'the user no longer exists');
  const members = await db
    .selectFrom('team_members')
    .select(['team_id', 'role'])
    .where('user_id', '=', userId)
    .execute();
  const memberships = new Map<string, string>();
  const teamPermissions = new Map<string, ReadonlySet<Permission>>();
  for (const m of members) {
    memberships.set(m.team_id, m.role);
    teamPermissions.set(m.team_id, await resolveRolePermissions(db, m.team_id, m.role));
  }
  const envRoles = await db
    .selectFrom('environment_roles')
    .innerJoin('environments', 'environments.id', 'environment_roles.environment_id')
    .select(['environment_roles.environment_id', 'environment_roles.role', 'environments.team_id'])
    .where('environment_roles.user_id', '=', userId)
    .execute();
  const environmentPermissions = new Map<string, { teamId: string; permissions: ReadonlySet<Permission> }>();
  for (const e of envRoles) {
    // An environment role only counts while its holder is still in the environment's team.
    if (!memberships.has(e.team_id)) continue;
    environmentPermissions.set(e.environment_id, {
      teamId: e.team_id,
      permissions: await resolveRolePermissions(db, e.team_id, e.role),
    });
  }
  return {
    kind: 'user',
    id: user.id,
    email: user.email,
    name: user.name,
    via,
    memberships,
    teamPermissions,
    environmentPermissions,
    environmentId,
  };
}

/**
 * Issues a user access token (JWT `kind: 'user'`) for CLI use, optionally bound to an environment. The
 * `perms` claim is informational: requests re-read the user's roles.
 *
 * @throws SlateError('not_allowed', 'PERMISSION_DENIED') when the user is not in the environment's team.
 */
export async function issueUserAccessToken(
  db: Kysely<Database>,
  keys: KeyRing,
  user: UserPrincipal,
  environmentId: string | null,
  ttlSeconds: number,
): Promise<string> {
  let team: string | undefined;
  let project: string | undefined;
  if (environmentId) {
    const env = await db
      .selectFrom('environments')
      .select(['team_id', 'project_id'])
      .where('id', '=', environmentId)
      .executeTakeFirst();
    if (!env || !user.memberships.has(env.team_id)) {
      throw new SlateError(
        'not_allowed',
        'PERMISSION_DENIED',
        `not a member of environment ${environmentId}`,
      );
    }
    team = env.team_id;
    project = env.project_id;
  }
  const perms = new Set<Permission>(team ? user.teamPermissions.get(team) : []);
  for (const p of environmentId ? (user.environmentPermissions.get(environmentId)?.permissions ?? []) : []) {
    perms.add(p);
  }
  return keys.sign(
    {
      sub: user.id,
      client_id: user.id,
      ...(environmentId ? { env: environmentId, team, project } : {}),
      perms: [...perms].sort(),
      kind: 'user',
    },
    ttlSeconds,
  );
}

/** `GET /v1/me`. */
export interface MeView {
  readonly user: { id: string; email: string; name: string };
  readonly teams: { id: string; name: string; role: string; permissions: Permission[] }[];
}

export async function describeUser(db: Kysely<Database>, user: UserPrincipal): Promise<MeView> {
  const ids = [...user.memberships.keys()];
  const teams = ids.length
    ? await db.selectFrom('teams').select(['id', 'name']).where('id', 'in', ids).orderBy('id').execute()
    : [];
  return {
    user: { id: user.id, email: user.email, name: user.name },
    teams: teams.map((t) => ({
      id: t.id,
      name: t.name,
      role: user.memberships.get(t.id)!,
      permissions: [...(user.teamPermissions.get(t.id) ?? [])].sort(),
    })),
  };
}
