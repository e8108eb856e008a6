import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requestScope } from '../auth/request-scope.ts';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { OfflineQueryRequestSchema } from './offline-query-request.ts';
import type { OfflineQueryService, RevisionRecord } from './offline-query-service.ts';

export interface OfflineQueryRoutesOptions {
  readonly served: ServedEnvironments;
  readonly service: OfflineQueryService;
  /**
   * Signs the download links of results. Every replica behind one address needs the same key; default a
   * random key per process (links then work on the replica that made them, until it restarts).
   */
  readonly urlSigningKey?: string | Uint8Array;
  /** How long a download link works. Default 3600 s. */
  readonly urlTtlSeconds?: number;
  /**
   * The API host's public URL (the token issuer, `api_server`). A request the API host forwarded carries it
   * in `X-Slate-Api-Host`, and its links then name the API host, so a client that reaches only the API host
   * can download. Any other value of the header is ignored (links name this server), so a caller can never
   * point links elsewhere. Unset: links always name this server.
   */
  readonly apiHostUrl?: string;
  readonly now?: () => number;
}

/** Set by the API host's forwarder on each request it passes on: its own public URL. */
export const API_HOST_HEADER = 'x-slate-api-host';

const SignedPartQuery = z.object({
  environment: z.string().min(1).max(200),
  expires: z.coerce.number().int().positive(),
  signature: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

/**
 * The offline-query API as the seed product's clients call it (chalk.md §3.7), as a Fastify plugin the
 * data plane registers next to its own routes (whose token check and error mapping it relies on):
 * `POST /v4/offline_query` → the dataset with its new revision; `GET /v2/offline_query/{revision}` → the
 * revision's `{is_finished, version, urls, errors, columns}`; `GET /v4/offline_query/{job}/status` → a
 * batch report; `GET /v4/offline_query/{revision}/parts/{n}` → a result part's Parquet bytes (bearer token).
 * Submitting needs the `query.offline` permission; reading needs `query.offline` or `query.offline_read`.
 *
 * The `urls` are short-lived signed links, as the seed product's clients expect (they fetch them without
 * credentials): `GET /v4/offline_query/{revision}/download/{n}?environment=…&expires=…&signature=…`, an
 * HMAC-SHA256 of environment, revision, part and expiry (not the host: the same link works on the API host,
 * which forwards it, and on this server). Links name the API host when it forwarded the request (see
 * `apiHostUrl`), this server otherwise. A link that was altered or has expired answers
 * 403 `DOWNLOAD_LINK_INVALID` / `DOWNLOAD_LINK_EXPIRED`.
 */
export const offlineQueryRoutes: FastifyPluginAsync<OfflineQueryRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { served, service } = options;
  const key = options.urlSigningKey ?? randomBytes(32);
  const ttlSeconds = options.urlTtlSeconds ?? 3_600;
  const now = options.now ?? Date.now;
  const sign = (environment: string, revision: string, part: number, expires: number) =>
    createHmac('sha256', key).update(`${environment}\n${revision}\n${part}\n${expires}`).digest('base64url');
  const environmentOf = (request: FastifyRequest, ...permissions: string[]) =>
    requestScope(request, served, ...permissions);
  const apiHost = options.apiHostUrl?.replace(/\/+$/, '');
  const base = (request: FastifyRequest) => {
    const header = request.headers[API_HOST_HEADER];
    const via = (Array.isArray(header) ? header[0] : header)?.replace(/\/+$/, '');
    return apiHost !== undefined && via === apiHost ? apiHost : `${request.protocol}://${request.host}`;
  };
  const wireRevision = (request: FastifyRequest, record: RevisionRecord) => ({
    revision_id: record.revision_id,
    creator_id: record.creator_id,
    environment_id: record.environment_id,
    outputs: record.outputs,
    givens_uri: null,
    status: record.status,
    filters: null,
    num_partitions: record.num_partitions,
    output_uris: urls(request, record),
    output_version: 1,
    num_bytes: record.num_bytes,
    created_at: record.created_at,
    started_at: record.started_at,
    terminated_at: record.terminated_at,
    dataset_name: record.dataset_name,
    dataset_id: record.dataset_id,
    branch: null,
    dashboard_url: null,
    num_computers: 1,
  });
  const urls = (request: FastifyRequest, record: RevisionRecord) => {
    const expires = Math.floor(now() / 1000) + ttlSeconds;
    return record.output_keys.map((_, i) => {
      const query = new URLSearchParams({
        environment: record.environment_id,
        expires: String(expires),
        signature: sign(record.environment_id, record.revision_id, i, expires),
      });
      return `${base(request)}/v4/offline_query/${record.revision_id}/download/${i}?${query}`;
    });
  };
  const finished = (record: RevisionRecord) => record.status === 'COMPLETED' || record.status === 'FAILED';
  const find = async (environmentId: string, id: string) => {
    const record = await service.revision(environmentId, id);
    if (!record) throw new SlateError('not_found', 'DATASET_NOT_FOUND', `no offline query revision ${id}`);
    return record;
  };

  app.post('/v4/offline_query', async (request) => {
    const { environment, principal } = environmentOf(request, 'query.offline');
    const body = OfflineQueryRequestSchema.parse(request.body);
    const record = await service.submit(environment.id, principal.subject, body);
    return {
      is_finished: finished(record),
      version: 1,
      dataset_id: record.dataset_id,
      dataset_name: record.dataset_name,
      environment_id: record.environment_id,
      revisions: [wireRevision(request, record)],
      errors: record.errors,
    };
  });

  app.get<{ Params: { revision: string } }>('/v2/offline_query/:revision', async (request) => {
    const { environment } = environmentOf(request, 'query.offline', 'query.offline_read');
    const record = await find(environment.id, request.params.revision);
    return {
      is_finished: finished(record),
      version: 1,
      urls: urls(request, record),
      errors: record.errors,
      columns: record.columns,
    };
  });

  app.get<{ Params: { job: string } }>('/v4/offline_query/:job/status', async (request) => {
    const { environment } = environmentOf(request, 'query.offline', 'query.offline_read');
    const record = await find(environment.id, request.params.job);
    return {
      report: {
        operation_id: record.revision_id,
        status: record.status,
        environment_id: record.environment_id,
        team_id: environment.teamId,
        deployment_id: record.deployment_id,
        error: record.errors[0] ?? null,
        generated_at: new Date().toISOString(),
        all_errors: record.errors,
        operation_metadata: {
          num_rows: record.num_rows,
          num_bytes: record.num_bytes,
          num_partitions: record.num_partitions,
          heartbeat_at: record.heartbeat_at,
          started_at: record.started_at,
          terminated_at: record.terminated_at,
          duration_ms:
            record.started_at && record.terminated_at
              ? Date.parse(record.terminated_at) - Date.parse(record.started_at)
              : null,
          attempt: record.attempt ?? 1,
        },
        computer_id: null,
      },
    };
  });

  app.get<{ Params: { revision: string; part: string } }>(
    '/v4/offline_query/:revision/parts/:part',
    async (request, reply) => {
      const { environment } = environmentOf(request, 'query.offline', 'query.offline_read');
      const bytes = await service.part(environment.id, request.params.revision, Number(request.params.part));
      if (!bytes) throw new SlateError('not_found', 'DATASET_NOT_FOUND', 'no such result part');
      return reply.type('application/vnd.apache.parquet').send(Buffer.from(bytes));
    },
  );

  app.get<{ Params: { revision: string; part: string }; Querystring: Record<string, string> }>(
    '/v4/offline_query/:revision/download/:part',
    { config: { public: true } },
    async (request, reply) => {
      const parsed = SignedPartQuery.safeParse(request.query);
      const part = Number(request.params.part);
      if (!parsed.success || !Number.isInteger(part) || part < 0)
        throw new SlateError('not_allowed', 'DOWNLOAD_LINK_INVALID', 'this download link is not valid');
      const { environment, expires, signature } = parsed.data;
      const expected = Buffer.from(sign(environment, request.params.revision, part, expires));
      if (!timingSafeEqual(expected, Buffer.from(signature)))
        throw new SlateError('not_allowed', 'DOWNLOAD_LINK_INVALID', 'this download link is not valid');
      if (expires * 1000 < now())
        throw new SlateError(
          'not_allowed',
          'DOWNLOAD_LINK_EXPIRED',
          'this download link has expired; read the revision again for fresh links',
        );
      const bytes = await service.part(environment, request.params.revision, part);
      if (!bytes) throw new SlateError('not_found', 'DATASET_NOT_FOUND', 'no such result part');
      return reply.type('application/vnd.apache.parquet').send(Buffer.from(bytes));
    },
  );
};
