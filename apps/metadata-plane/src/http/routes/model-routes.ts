import {
  MODEL_PART_MAX_BYTES,
  ModelAliasSchema,
  ModelNameSchema,
  Sha256Schema,
  SlateError,
} from '@slate/graph';
import { z } from 'zod';
import { type Principal, principalLabel } from '../../auth/principal.ts';
import { getEnvironmentFor } from '../../catalog/catalog.ts';
import type { MetadataPlaneContext } from '../../context.ts';
import { getArtifactPart, putArtifactPart } from '../../models/model-artifacts.ts';
import {
  getModelVersion,
  listModels,
  listModelVersions,
  modelAliasHistory,
  moveModelAlias,
  RegisterModelVersionSchema,
  registerModelVersion,
} from '../../models/model-registry.ts';
import { defineRoute } from '../route.ts';
import type { Router } from '../router.ts';

const EnvParams = z.object({ id: z.string().min(1) });
const ModelParams = z.object({ id: z.string().min(1), name: ModelNameSchema });
const PartParams = z.object({ id: z.string().min(1), sha256: Sha256Schema });
const VersionParams = ModelParams.extend({
  version: z.union([z.coerce.number().int().positive(), ModelAliasSchema]),
});
const AliasParams = ModelParams.extend({ alias: ModelAliasSchema });
const MoveAliasBody = z
  .object({
    version: z.number().int().positive(),
    /** Compare-and-set: the version the alias must point at now (`null`: not set yet). */
    expected_version: z.number().int().positive().nullable().optional(),
  })
  .strict();

/**
 * The model registry of an environment: artifact parts (uploaded and downloaded as raw bytes, at most
 * `MODEL_PART_MAX_BYTES` each), versions with their signature, metadata and metrics, and aliases.
 */
export function modelRoutes(router: Router, ctx: MetadataPlaneContext): void {
  const environment = (principal: Principal, id: string, permission: 'models.read' | 'models.write') =>
    getEnvironmentFor(ctx.db, principal, id, permission);

  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/environments/:id/model-parts/:sha256',
      summary:
        'Upload one part of a model artifact (raw bytes; stored under its sha256 in the `model` bucket)',
      auth: { kind: 'principal', permission: 'models.write' },
      params: PartParams,
      bodyLimit: MODEL_PART_MAX_BYTES + 1024,
      audit: 'models.upload_part',
      handler: async ({ principal, params, request, auditTarget }) => {
        auditTarget(`${params.id}/${params.sha256}`);
        const env = await environment(principal, params.id, 'models.write');
        const body = request.body;
        if (!Buffer.isBuffer(body)) {
          throw new SlateError(
            'input',
            'MODEL_PART_BODY_REQUIRED',
            'send the part as Content-Type: application/octet-stream',
          );
        }
        return putArtifactPart(ctx.objectStore, env.id, params.sha256, body);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/model-parts/:sha256',
      summary: 'Download one part of a model artifact (raw bytes)',
      auth: { kind: 'principal', permission: 'models.read' },
      params: PartParams,
      handler: async ({ principal, params, reply }) => {
        const env = await environment(principal, params.id, 'models.read');
        const bytes = await getArtifactPart(ctx.objectStore, env.id, params.sha256);
        if (!bytes) {
          throw new SlateError('not_found', 'MODEL_PART_NOT_FOUND', `part ${params.sha256} does not exist`);
        }
        reply.header('content-type', 'application/octet-stream');
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/models',
      summary: "An environment's models, with their latest version and aliases",
      auth: { kind: 'principal', permission: 'models.read' },
      params: EnvParams,
      handler: async ({ principal, params }) => {
        const env = await environment(principal, params.id, 'models.read');
        return { items: await listModels(ctx.db, env.id) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'POST',
      url: '/v1/environments/:id/models/:name/versions',
      summary: 'Register a new version of a model from uploaded parts (checked against the artifact sha256)',
      auth: { kind: 'principal', permission: 'models.write' },
      params: ModelParams,
      body: RegisterModelVersionSchema,
      status: 201,
      audit: 'models.register_version',
      handler: async ({ principal, params, body, auditTarget }) => {
        auditTarget(`${params.id}/${params.name}`);
        const env = await environment(principal, params.id, 'models.write');
        return registerModelVersion(
          ctx.db,
          ctx.objectStore,
          env,
          params.name,
          body,
          principalLabel(principal),
          ctx.now(),
        );
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/models/:name/versions',
      summary: "A model's versions, newest first",
      auth: { kind: 'principal', permission: 'models.read' },
      params: ModelParams,
      handler: async ({ principal, params }) => {
        const env = await environment(principal, params.id, 'models.read');
        return { items: await listModelVersions(ctx.db, env.id, params.name) };
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/models/:name/versions/:version',
      summary: 'One version of a model, by number or alias',
      auth: { kind: 'principal', permission: 'models.read' },
      params: VersionParams,
      handler: async ({ principal, params }) => {
        const env = await environment(principal, params.id, 'models.read');
        const ref =
          typeof params.version === 'number'
            ? { name: params.name, version: params.version }
            : { name: params.name, alias: params.version };
        return getModelVersion(ctx.db, env.id, ref);
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'PUT',
      url: '/v1/environments/:id/models/:name/aliases/:alias',
      summary:
        'Point an alias (production, staging, …) at a version, atomically; the move is kept in history',
      auth: { kind: 'principal', permission: 'models.write' },
      params: AliasParams,
      body: MoveAliasBody,
      audit: 'models.move_alias',
      handler: async ({ principal, params, body, auditTarget }) => {
        auditTarget(`${params.id}/${params.name}@${params.alias}`);
        const env = await environment(principal, params.id, 'models.write');
        return moveModelAlias(
          ctx.db,
          env.id,
          params.name,
          params.alias,
          body.version,
          body.expected_version,
          principalLabel(principal),
          ctx.now(),
        );
      },
    }),
  );
  router.add(
    defineRoute({
      method: 'GET',
      url: '/v1/environments/:id/models/:name/alias-history',
      summary: "Every move of a model's aliases, newest first",
      auth: { kind: 'principal', permission: 'models.read' },
      params: ModelParams,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      handler: async ({ principal, params, query }) => {
        const env = await environment(principal, params.id, 'models.read');
        return { items: await modelAliasHistory(ctx.db, env.id, params.name, query.limit) };
      },
    }),
  );
}
