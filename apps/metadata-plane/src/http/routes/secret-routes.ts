import { z } from 'zod';
import { assertCan, principalLabel } from '../../auth/principal.ts';
import { getEnvironment } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { bumpEnvironmentRevision } from '../../data-planes/data-planes.ts';
import {
  deleteSecret,
  listSecrets,
  PutSecretBodySchema,
  putSecret,
  SecretNameSchema,
} from '../../secrets/secrets.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

const SecretParams = z.object({ id: z.string().min(1), name: SecretNameSchema });

/** Write-only secrets: values go in sealed to the data plane and never come back out of this API. */
export function secretRoutes(router: Router, ctx: MetadataPlaneContext): void {
  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/environments/:id/secrets/:name',
      summary: "Set a secret (sealed to the environment's data plane; never readable through this API)",
      auth: { kind: 'principal', permission: 'secrets.write' },
      params: SecretParams,
      body: PutSecretBodySchema,
      audit: 'secrets.write',
      handler: async ({ principal, params, body, auditTarget }) => {
        auditTarget(`${params.id}/${params.name}`);
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'secrets.write', { teamId: env.team_id, environmentId: env.id });
        const view = await putSecret(
          ctx.db,
          env,
          params.name,
          body.value,
          principalLabel(principal),
          ctx.now(),
        );
        await bumpEnvironmentRevision(ctx.db, ctx.notifier, env.id);
        return view;
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/secrets',
      summary: "An environment's secret names and update times (never values)",
      auth: { kind: 'principal', permission: 'secrets.list' },
      params: z.object({ id: z.string().min(1) }),
      handler: async ({ principal, params }) => {
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'secrets.list', { teamId: env.team_id, environmentId: env.id });
        return { items: await listSecrets(ctx.db, env.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'DELETE',
      url: '/v1/environments/:id/secrets/:name',
      summary: 'Delete a secret',
      auth: { kind: 'principal', permission: 'secrets.write' },
      params: SecretParams,
      audit: 'secrets.delete',
      handler: async ({ principal, params, auditTarget }) => {
        auditTarget(`${params.id}/${params.name}`);
        const env = await getEnvironment(ctx.db, params.id);
        assertCan(principal, 'secrets.write', { teamId: env.team_id, environmentId: env.id });
        await deleteSecret(ctx.db, env.id, params.name);
        await bumpEnvironmentRevision(ctx.db, ctx.notifier, env.id);
        return { ok: true };
      },
    }),
  );
}
