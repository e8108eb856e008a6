import { SlateError } from '@slate/graph';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requestScope } from '../auth/request-scope.ts';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { OfflineQueryRequestSchema } from './offline-query-request.ts';
import type { OfflineQueryService, RevisionRecord } from './offline-query-service.ts';

export interface OfflineQueryRoutesOptions {
  readonly served: ServedEnvironments;
  readonly service: OfflineQueryService;
}

/**
 * The offline-query API as the seed product's clients call it (chalk.md §3.7), as a Fastify plugin the
 * data plane registers next to its own routes (whose token check and error mapping it relies on):
 * `POST /v4/offline_query` → the dataset with its new revision; `GET /v2/offline_query/{revision}` → the
 * revision's `{is_finished, version, urls, errors, columns}`; `GET /v4/offline_query/{job}/status` → a
 * batch report; `GET /v4/offline_query/{revision}/parts/{n}` → the Parquet bytes the URLs point at.
 * Submitting needs the `query.offline` permission; reading needs `query.offline` or `query.offline_read`.
 */
export const offlineQueryRoutes: FastifyPluginAsync<OfflineQueryRoutesOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { served, service } = options;
  const environmentOf = (request: FastifyRequest, ...permissions: string[]) =>
    requestScope(request, served, ...permissions);
  const base = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
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
  const urls = (request: FastifyRequest, record: RevisionRecord) =>
    record.output_keys.map((_, i) => `${base(request)}/v4/offline_query/${record.revision_id}/parts/${i}`);
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
          heartbeat_at: record.heartbeat_at,
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
};
