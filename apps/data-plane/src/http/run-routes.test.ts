import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalObjectStore, createLogBus } from '@slate/stores';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../../../../examples/quickstart/src/sample-data.ts';
import { createResultPublisher } from '../persistence/result-publisher.ts';
import { createRunService, type RunService } from '../runs/run-service.ts';
import { createObjectRunStore } from '../runs/run-store.ts';
import { createTestPlane, type TestPlane } from './fixtures/test-plane.ts';

const root = await mkdtemp(join(tmpdir(), 'slate-run-routes-'));
let plane: TestPlane;
let service: RunService;
let bus: ReturnType<typeof createLogBus>;

beforeAll(async () => {
  bus = createLogBus({ root: join(root, 'bus'), sync: false });
  await bus.init();
  const objects = createLocalObjectStore({ root: join(root, 'objects') });
  await objects.init();
  // The routes take the service; the service needs the plane's environments: bind them after creation.
  const runs: RunService = {
    trigger: (message) => service.trigger(message),
    get: (environment, id) => service.get(environment, id),
    list: (environment, limit) => service.list(environment, limit),
    page: (environment, query) => service.page(environment, query),
    cancel: (environment, id) => service.cancel(environment, id),
    recover: (environment) => service.recover(environment),
    incrementalState: (environment, fqn) => service.incrementalState(environment, fqn),
    setIncrementalState: (environment, fqn, state) => service.setIncrementalState(environment, fqn, state),
    dropIncrementalState: (environment, fqn) => service.dropIncrementalState(environment, fqn),
    idle: () => service.idle(),
  };
  plane = await createTestPlane({ server: { runs } });
  service = createRunService({
    served: plane.served,
    store: createObjectRunStore(objects),
    publisher: createResultPublisher(bus),
    sqlSources: () => new Map(),
  });
});
afterAll(async () => {
  await service.idle();
  await plane.app.close();
  await plane.served.close();
  await bus.close();
  await rm(root, { recursive: true, force: true });
});

const call = async (
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  perms: string[],
  body?: unknown,
) => {
  const token = await plane.token({ perms });
  return plane.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
};

describe('/v1/runs', () => {
  it('triggers a run with cron.create and reports it until it succeeded', async () => {
    const triggered = await call('POST', '/v1/runs/trigger', ['cron.create'], {
      resolver_fqn: 'user_directory',
    });
    expect(triggered.statusCode).toBe(200);
    const run = triggered.json() as { id: string; status: string; resolver_fqn: string; trigger: string };
    expect(run).toMatchObject({ status: 'received', resolver_fqn: 'user_directory', trigger: 'API' });
    await service.idle();
    const read = await call('GET', `/v1/runs/${run.id}`, ['cron.read']);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      id: run.id,
      status: 'succeeded',
      rows: users.length,
      environment_id: 'dev',
    });
    const listed = await call('GET', '/v1/runs?limit=5', ['cron.read']);
    expect((listed.json() as { runs: { id: string }[] }).runs.map((r) => r.id)).toContain(run.id);

    const finished = await call('POST', `/v1/runs/${run.id}/cancel`, ['cron.create'], {});
    expect(finished.statusCode).toBe(409);
    expect(finished.json()).toMatchObject({ code: 'RUN_ALREADY_FINISHED' });
  });

  it('lists runs by resolver and status, a page at a time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const triggered = await call('POST', '/v1/runs/trigger', ['cron.create'], {
        resolver_fqn: 'user_directory',
      });
      ids.unshift((triggered.json() as { id: string }).id);
    }
    await service.idle();
    const seen: string[] = [];
    let url = '/v1/runs?resolver_fqn=user_directory&status=succeeded&limit=2';
    for (;;) {
      const page = (await call('GET', url, ['cron.read'])).json() as {
        runs: { id: string; status: string; resolver_fqn: string }[];
        next_cursor: string | null;
      };
      expect(page.runs.length).toBeLessThanOrEqual(2);
      for (const r of page.runs)
        expect(r).toMatchObject({ status: 'succeeded', resolver_fqn: 'user_directory' });
      seen.push(...page.runs.map((r) => r.id));
      if (!page.next_cursor) break;
      url = `/v1/runs?resolver_fqn=user_directory&status=succeeded&limit=2&cursor=${page.next_cursor}`;
    }
    // Newest first: the three just triggered lead, every run shows up once.
    expect(seen.slice(0, 3)).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    const none = (await call('GET', '/v1/runs?status=canceled', ['cron.read'])).json() as { runs: unknown[] };
    expect(none.runs).toEqual([]);
  });

  it.each([
    ['POST', '/v1/runs/trigger', ['query.online'], { resolver_fqn: 'user_directory' }, 403, 'UNAUTHORIZED'],
    ['GET', '/v1/runs/run_1', ['query.online'], undefined, 403, 'UNAUTHORIZED'],
    ['GET', '/v1/runs/run_nope', ['cron.read'], undefined, 404, 'RUN_NOT_FOUND'],
    ['POST', '/v1/runs/run_nope/cancel', ['cron.create'], {}, 404, 'RUN_NOT_FOUND'],
    ['POST', '/v1/runs/run_nope/cancel', ['cron.read'], {}, 403, 'UNAUTHORIZED'],
    ['GET', '/v1/runs?status=sleeping', ['cron.read'], undefined, 400, 'INVALID_REQUEST'],
    ['GET', '/v1/runs?limit=0', ['cron.read'], undefined, 400, 'INVALID_REQUEST'],
    ['GET', '/v1/runs?cursor=bogus', ['cron.read'], undefined, 400, 'INVALID_CURSOR'],
    ['GET', '/v1/runs/incremental/user_directory', ['cron.read'], undefined, 400, 'NOT_INCREMENTAL'],
    ['GET', '/v1/runs/incremental/nope', ['cron.read'], undefined, 404, 'RESOLVER_NOT_FOUND'],
    ['PUT', '/v1/runs/incremental/user_directory', ['cron.read'], {}, 403, 'UNAUTHORIZED'],
    ['DELETE', '/v1/runs/incremental/user_directory', ['query.online'], {}, 403, 'UNAUTHORIZED'],
    ['POST', '/v1/runs/trigger', ['cron.create'], { resolver_fqn: 'nope' }, 404, 'RESOLVER_NOT_FOUND'],
    ['POST', '/v1/runs/trigger', ['cron.create'], { resolver_fqn: 'get_user' }, 400, 'INVALID_RUN'],
    [
      'POST',
      '/v1/runs/trigger',
      ['cron.create'],
      { resolver_fqn: 'user_directory', lower_bound: 'yesterday' },
      400,
      undefined,
    ],
  ] as const)('%s %s (%j) answers %#', async (method, url, perms, body, status, code) => {
    const response = await call(method, url, [...perms], body);
    expect(response.statusCode).toBe(status);
    if (code) expect(response.json()).toMatchObject({ code });
  });
});
