import { z } from 'zod';
import {
  assertMayGrant,
  createInvite,
  expireInvite,
  getInvite,
  InviteBodySchema,
  listInvites,
  listMembers,
  RoleAssignmentSchema,
  removeEnvironmentRole,
  removeMember,
  setEnvironmentRole,
  setTeamRole,
} from '../../auth/members.ts';
import { assertCan } from '../../auth/principal.ts';
import {
  CustomRoleBodySchema,
  createCustomRole,
  deleteCustomRole,
  getCustomRole,
  listRoles,
  updateCustomRole,
} from '../../auth/roles.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import { getTeam } from '../../catalog/catalog-admin.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

const IdParams = z.object({ id: z.string().min(1) });
const MemberParams = z.object({ id: z.string().min(1), userId: z.string().min(1) });

/** A team's members, their environment roles, invites and custom roles. */
export function memberRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const { db } = ctx;
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/teams/:id/members',
      summary: "A team's members with their team and environment roles",
      auth: { kind: 'principal', permission: 'team.list' },
      params: IdParams,
      handler: async ({ principal, params }) => {
        await getTeam(db, params.id);
        assertCan(principal, 'team.list', { teamId: params.id });
        return { items: await listMembers(db, params.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/teams/:id/members/:userId/role',
      summary: "Set a member's team role (built-in or custom; never one granting more than the caller holds)",
      auth: { kind: 'principal', permission: 'team.admin' },
      params: MemberParams,
      body: RoleAssignmentSchema,
      audit: 'team.assign_role',
      handler: async ({ principal, params, body, auditTarget }) => {
        auditTarget(`${params.id}/${params.userId}`);
        await getTeam(db, params.id);
        assertCan(principal, 'team.admin', { teamId: params.id });
        await assertMayGrant(db, principal, body.role, { teamId: params.id });
        await setTeamRole(db, params.id, params.userId, body.role);
        return { team_id: params.id, user_id: params.userId, role: body.role };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/teams/:id/members/:userId',
      summary: 'Remove a member from a team (and their environment roles in it)',
      auth: { kind: 'principal', permission: 'team.admin' },
      params: MemberParams,
      audit: 'team.remove_member',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.userId}`);
        await getTeam(db, params.id);
        assertCan(principal, 'team.admin', { teamId: params.id });
        await removeMember(db, params.id, params.userId);
        return { ok: true };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/environments/:id/members/:userId/role',
      summary: 'Give a team member an extra role inside one environment',
      auth: { kind: 'principal', permission: 'team.admin' },
      params: MemberParams,
      body: RoleAssignmentSchema,
      audit: 'environment.assign_role',
      handler: async ({ principal, params, body, auditTarget }) => {
        auditTarget(`${params.id}/${params.userId}`);
        const env = await getEnvironment(db, params.id);
        assertCan(principal, 'team.admin', { teamId: env.team_id });
        await assertMayGrant(db, principal, body.role, { teamId: env.team_id, environmentId: env.id });
        await setEnvironmentRole(db, env, params.userId, body.role);
        return { environment_id: env.id, user_id: params.userId, role: body.role };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/environments/:id/members/:userId/role',
      summary: "Remove a member's environment role",
      auth: { kind: 'principal', permission: 'team.admin' },
      params: MemberParams,
      audit: 'environment.remove_role',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.userId}`);
        const env = await getEnvironment(db, params.id);
        assertCan(principal, 'team.admin', { teamId: env.team_id });
        await removeEnvironmentRole(db, env.id, params.userId);
        return { ok: true };
      },
    }),
  );

  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/teams/:id/invites',
      summary: "A team's invites, pending and accepted",
      auth: { kind: 'principal', permission: 'team.list' },
      params: IdParams,
      handler: async ({ principal, params }) => {
        await getTeam(db, params.id);
        assertCan(principal, 'team.list', { teamId: params.id });
        return { items: await listInvites(db, params.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/teams/:id/invites',
      summary: 'Invite an email with a role; it joins the team at its first login',
      auth: { kind: 'principal', permission: 'team.add' },
      params: IdParams,
      body: InviteBodySchema,
      status: 201,
      audit: 'team.invite',
      handler: async ({ principal, params, body, auditTarget }) => {
        await getTeam(db, params.id);
        assertCan(principal, 'team.add', { teamId: params.id });
        await assertMayGrant(db, principal, body.role, { teamId: params.id });
        const invite = await createInvite(db, params.id, body);
        auditTarget(invite.id);
        return invite;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/invites/:id',
      summary: 'Withdraw a pending invite',
      auth: { kind: 'principal', permission: 'team.add' },
      params: IdParams,
      audit: 'team.expire_invite',
      handler: async ({ principal, params }) => {
        const invite = await getInvite(db, params.id);
        assertCan(principal, 'team.add', { teamId: invite.team_id });
        await expireInvite(db, invite.id);
        return { ok: true };
      },
    }),
  );

  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/teams/:id/roles',
      summary: 'Built-in and custom roles available in a team, with their permissions',
      auth: { kind: 'principal', permission: 'team.list' },
      params: IdParams,
      handler: async ({ principal, params }) => {
        await getTeam(db, params.id);
        assertCan(principal, 'team.list', { teamId: params.id });
        return { items: await listRoles(db, params.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/teams/:id/roles',
      summary: 'Create a custom role (only with permissions the caller holds)',
      auth: { kind: 'principal', permission: 'team.admin' },
      params: IdParams,
      body: CustomRoleBodySchema,
      status: 201,
      audit: 'role.create',
      handler: async ({ principal, params, body, auditTarget }) => {
        await getTeam(db, params.id);
        assertCan(principal, 'team.admin', { teamId: params.id });
        for (const p of body.permissions) assertCan(principal, p, { teamId: params.id });
        const role = await createCustomRole(db, params.id, body);
        auditTarget(role.id);
        return role;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/roles/:id',
      summary: "Replace a custom role's name, description and permissions",
      auth: { kind: 'principal', permission: 'team.admin' },
      params: IdParams,
      body: CustomRoleBodySchema,
      audit: 'role.update',
      handler: async ({ principal, params, body }) => {
        const role = await getCustomRole(db, params.id);
        const teamId = role.team_id!;
        assertCan(principal, 'team.admin', { teamId });
        for (const p of body.permissions) assertCan(principal, p, { teamId });
        return updateCustomRole(db, role.id, body, ctx.now());
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/roles/:id',
      summary: 'Delete a custom role no one holds',
      auth: { kind: 'principal', permission: 'team.admin' },
      params: IdParams,
      audit: 'role.delete',
      handler: async ({ principal, params }) => {
        const role = await getCustomRole(db, params.id);
        assertCan(principal, 'team.admin', { teamId: role.team_id! });
        await deleteCustomRole(db, role.id);
        return { ok: true };
      },
    }),
  );
}
