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

const call = async (method: 'GET' | 'POST', url: string, perms: string[], body?: unknown) => {
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
  });

  it.each([
    ['POST', '/v1/runs/trigger', ['query.online'], { resolver_fqn: 'user_directory' }, 403, 'UNAUTHORIZED'],
    ['GET', '/v1/runs/run_1', ['query.online'], undefined, 403, 'UNAUTHORIZED'],
    ['GET', '/v1/runs/run_nope', ['cron.read'], undefined, 404, 'RUN_NOT_FOUND'],
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
