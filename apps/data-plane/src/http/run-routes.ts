import { SlateError } from '@slate/graph';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requestScope } from '../auth/request-scope.ts';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import { RunListQuerySchema, type RunRecord, RunTriggerRequestSchema } from '../runs/run-record.ts';
import type { RunService } from '../runs/run-service.ts';

export interface RunRoutesOptions {
  readonly served: ServedEnvironments;
  readonly runs: RunService;
}

/**
 * Triggered resolver runs (chalk.md §3.9): `POST /v1/runs/trigger` `{resolver_fqn, lower_bound?,
 * upper_bound?, max_samples?, idempotency_key?, store_online?, store_offline?}` → the run `{id, status, …}`
 * (`received` at first; the same run again for a used idempotency key); `GET /v1/runs/{id}` → the run with
 * its status (`received`, `running`, `succeeded`, `failed`, `canceled`) and progress (`rows`, `values`);
 * `POST /v1/runs/{id}/cancel` → the run once stopped (`canceled`; chalk's `CancelScheduledResolverRun`),
 * 409 `RUN_ALREADY_FINISHED` for a finished run; `GET /v1/runs?resolver_fqn=&status=&limit=&cursor=` →
 * `{runs, next_cursor}`, newest first; `GET|PUT|DELETE /v1/runs/incremental/{resolver_fqn}` → an
 * incremental resolver's `{high_water, last_execution_at}` (chalk's `chalk incremental status|set|drop`).
 * Triggering, canceling and changing incremental state need `cron.create`; reading `cron.read` or
 * `cron.create`. The environment is the token's.
 */
export const runRoutes: FastifyPluginAsync<RunRoutesOptions> = async (app: FastifyInstance, options) => {
  const { served, runs } = options;
  const environmentOf = (request: FastifyRequest, ...permissions: string[]) =>
    requestScope(request, served, ...permissions).environment;
  const wire = (record: RunRecord) => ({ ...record, environment_id: record.environment });

  app.post('/v1/runs/trigger', async (request) => {
    const environment = environmentOf(request, 'cron.create');
    const body = RunTriggerRequestSchema.parse(request.body ?? {});
    return wire(await runs.trigger({ ...body, environment: environment.id, trigger: 'API' }));
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (request) => {
    const environment = environmentOf(request, 'cron.read', 'cron.create');
    const record = await runs.get(environment.id, request.params.id);
    if (!record)
      throw new SlateError('not_found', 'RUN_NOT_FOUND', `no run ${request.params.id} in this environment`);
    return wire(record);
  });
  app.post<{ Params: { id: string } }>('/v1/runs/:id/cancel', async (request) => {
    const environment = environmentOf(request, 'cron.create');
    return wire(await runs.cancel(environment.id, request.params.id));
  });
  app.get<{ Params: { fqn: string } }>('/v1/runs/incremental/:fqn', async (request) => {
    const environment = environmentOf(request, 'cron.read', 'cron.create');
    const state = await runs.incrementalState(environment.id, request.params.fqn);
    return { resolver_fqn: request.params.fqn, ...state };
  });
  app.put<{ Params: { fqn: string } }>('/v1/runs/incremental/:fqn', async (request) => {
    const environment = environmentOf(request, 'cron.create');
    const state = await runs.setIncrementalState(environment.id, request.params.fqn, request.body ?? {});
    return { resolver_fqn: request.params.fqn, ...state };
  });
  app.delete<{ Params: { fqn: string } }>('/v1/runs/incremental/:fqn', async (request) => {
    const environment = environmentOf(request, 'cron.create');
    await runs.dropIncrementalState(environment.id, request.params.fqn);
    return { resolver_fqn: request.params.fqn, high_water: null, last_execution_at: null };
  });
  app.get('/v1/runs', async (request) => {
    const environment = environmentOf(request, 'cron.read', 'cron.create');
    const query = RunListQuerySchema.parse(request.query ?? {});
    const page = await runs.page(environment.id, query);
    return { runs: page.runs.map(wire), next_cursor: page.next_cursor };
  });
};
