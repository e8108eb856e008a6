import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { MetricRollupPoint } from '@slate/graph';
import { chart, collectGraph, features, float, int, online, series } from '@slate/sdk';
import { requireService, testServices } from '@slate/testing';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataPlane, type MetadataPlane } from '../metadata-plane.ts';
import { createMemoryObjectStore } from '../testing/memory-object-store.ts';
import { harness } from '../testing/plane-harness.ts';

const adminUrl = testServices.postgresUrl;
const reachable = await requireService('PostgreSQL', adminUrl);
const MINUTE = 60_000;
const SECRET = 'webhook-signing-secret-0123456789';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// The feature repository under test: a resolver and a chart with a trigger on its error rate.
const Account = features('account', { id: int(), score: float() });
const getScore = online({
  inputs: { id: Account.id },
  outputs: { score: Account.score },
  fn: () => ({ score: 1 }),
});
const scoreErrors = chart({ name: 'score-errors', window: '5m' })
  .withSeries(series('resolver_error_rate', { name: 'errors', where: getScore }))
  .withTrigger({
    name: 'score-failing',
    series: 'errors',
    threshold: 0.5,
    severity: 'critical',
    owner: 'risk',
  });

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly status: number;
}

describe.skipIf(!reachable)('alerts as code (PostgreSQL)', () => {
  let plane: MetadataPlane;
  let database = '';
  let receiver: Server;
  let receiverUrl = '';
  const received: Received[] = [];
  /** Answers to give, in order (then 200). */
  const answers: number[] = [];
  let clock = Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE + 10_000;
  const { call, serviceToken } = harness(() => plane);
  let dataPlane: { token: string };

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const status = answers.shift() ?? 200;
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks/slate`;
    database = `slate_alerts_${randomBytes(6).toString('hex')}`;
    await admin((c) => c.query(`create database ${database}`));
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    plane = await createMetadataPlane({
      mode: 'production',
      database: { type: 'postgres', url: url.toString() },
      objectStore: createMemoryObjectStore(),
      apiServer: 'http://mp.test',
      registrationToken: 'registration-token-for-tests',
      seed: {
        teams: [{ id: 'acme', name: 'Acme' }],
        projects: [{ id: 'web', name: 'Web', team_id: 'acme' }],
        environments: [{ id: 'dev', name: 'Development', project_id: 'web', team_id: 'acme' }],
      },
      scheduler: { enabled: false },
      now: () => new Date(clock),
      logger: pino({ level: 'silent' }),
    });
    dataPlane = (
      await call(
        'POST',
        '/v1/data-planes/register',
        { token: 'registration-token-for-tests' },
        { name: 'east', url: 'http://east.test' },
      )
    ).body as { token: string };
  });
  afterAll(async () => {
    await plane?.close();
    await new Promise((resolve) => receiver?.close(resolve));
    if (database) await admin((c) => c.query(`drop database if exists ${database} with (force)`));
  });

  /** Reports one minute of `getScore` calls, as a data plane's rollups would. */
  const report = async (minute: number, calls: number, errors: number) => {
    const point: MetricRollupPoint = {
      environment_id: 'dev',
      kind: 'resolver',
      name: 'getScore',
      minute: new Date(minute).toISOString(),
      count: calls,
      errors,
      sum: calls * 0.01,
      min: 0.01,
      max: 0.01,
      hist: null,
    };
    const res = await call('POST', '/v1/data-plane/metrics', dataPlane, {
      source: 'east-1/boot-a',
      points: [point],
    });
    expect(res.body).toMatchObject({ recorded: 1 });
  };
  const minuteOf = (t: number) => Math.floor(t / MINUTE) * MINUTE;

  it('fires once while the resolver fails, delivers once (after a retry), resolves after the fix', async () => {
    const admin = await serviceToken('dev', ['monitoring.read', 'monitoring.create']);
    const created = await call('POST', '/v1/environments/dev/alert-routes', admin, {
      type: 'webhook',
      owner: 'risk',
      url: receiverUrl,
      secret: SECRET,
    });
    expect(created.status).toBe(201);
    // Written once, never shown back: the listing has the host only.
    const listed = await call('GET', '/v1/environments/dev/alert-routes', admin);
    expect(JSON.stringify(listed.body)).not.toContain(SECRET);
    expect(JSON.stringify(listed.body)).not.toContain('/hooks/slate');
    expect((listed.body as { items: { target: string; signed: boolean }[] }).items).toMatchObject([
      { target: new URL(receiverUrl).host, signed: true },
    ]);
    const stored = await plane.services.db.selectFrom('alert_routes').select('target_envelope').execute();
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    // A bad body is a 400 with a code, not a crash.
    expect(
      (
        await call('POST', '/v1/environments/dev/alert-routes', admin, {
          type: 'slack',
          owner: 'x',
          url: 'ftp://x',
        })
      ).status,
    ).toBe(400);

    // Deploy the chart: the environment's active deployment carries it.
    const { artifact } = collectGraph({ Account, getScore, scoreErrors });
    await plane.services.db
      .insertInto('deployments')
      .values({
        id: 'dep1',
        environment_id: 'dev',
        status: 'ACTIVE',
        graph: JSON.stringify(artifact),
        bundle_key: 'k',
        source_hash: 'h',
        git: null,
        created_by: 'test',
        dirty: null,
        diff_hash: null,
      })
      .execute();
    await plane.services.db
      .updateTable('environments')
      .set({ active_deployment_id: 'dep1' })
      .where('id', '=', 'dev')
      .execute();
    const monitoring = plane.services.monitoring;

    // First seen: nothing before now is evaluated.
    expect(await monitoring.schedule()).toEqual([]);
    // The resolver fails: 8 of 10 calls in the minute before the next evaluation.
    await report(minuteOf(clock), 10, 8);
    clock += MINUTE;
    const fired = await monitoring.schedule();
    expect(fired).toEqual([
      { key: `metric-check:dev:score-errors:${new Date(minuteOf(clock)).toISOString()}`, sent: true },
    ]);
    // Another replica's pass at the same time enqueues nothing new.
    expect(await monitoring.schedule()).toEqual([]);
    const first = await monitoring.drain();
    expect(first).toMatchObject([
      { status: 'evaluated', verdicts: [{ group: '', value: 0.8, firing: true }] },
    ]);
    // The same due time delivered again (a lapsed visibility timeout) is not evaluated twice.
    expect(
      await monitoring.evaluate({
        environment_id: 'dev',
        deployment_id: 'dep1',
        name: 'score-errors',
        kind: 'chart',
        due_at: new Date(minuteOf(clock)).toISOString(),
        idempotency_key: 'again',
      }),
    ).toMatchObject({ status: 'skipped' });

    // The receiver refuses the first attempt; the retry after the backoff is accepted.
    answers.push(503);
    expect(await monitoring.deliver()).toEqual({ delivered: 0, failed: 1, dead: 0 });
    expect(await monitoring.deliver()).toEqual({ delivered: 0, failed: 0, dead: 0 }); // backing off
    clock += 2_000;
    expect(await monitoring.deliver()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    const accepted = received.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    const alert = accepted[0]!;
    const expected = `sha256=${createHmac('sha256', SECRET).update(alert.body).digest('hex')}`;
    expect(alert.headers['x-slate-signature']).toBe(expected);
    expect(JSON.parse(alert.body)).toMatchObject({
      event: 'trigger',
      incident: {
        check: 'score-errors',
        trigger: 'score-failing',
        severity: 'critical',
        owner: 'risk',
        value: 0.8,
        threshold: 0.5,
      },
    });

    // Still failing a minute later: the incident stays open, no second alert.
    await report(minuteOf(clock), 10, 9);
    clock += MINUTE;
    await monitoring.schedule();
    expect(await monitoring.drain()).toMatchObject([
      { status: 'evaluated', changes: { opened: [], resolved: [] } },
    ]);
    await monitoring.deliver();
    expect(received.filter((r) => r.status === 200)).toHaveLength(1);
    const open = await call('GET', '/v1/environments/dev/incidents?status=open', admin);
    const incidents = (
      open.body as { items: { id: string; value: number; peak_value: number; series: unknown[] }[] }
    ).items;
    expect(incidents).toHaveLength(1);
    // Window of 5 minutes: (8 + 9) errors of 20 calls; the peak is the worst evaluation.
    expect(incidents[0]).toMatchObject({ value: 17 / 20, peak_value: 17 / 20 });
    expect(incidents[0]!.series).toHaveLength(2);
    const acked = await call('POST', `/v1/environments/dev/incidents/${incidents[0]!.id}/ack`, admin);
    expect(acked.body).toMatchObject({ acknowledged: true, status: 'open' });

    // The fix: the failing minutes leave the window, the new ones succeed.
    clock += 5 * MINUTE;
    await report(minuteOf(clock) - MINUTE, 30, 0);
    await monitoring.schedule();
    expect(await monitoring.drain()).toMatchObject([
      { status: 'evaluated', verdicts: [{ value: 0, firing: false }] },
    ]);
    expect(await monitoring.deliver()).toEqual({ delivered: 1, failed: 0, dead: 0 });
    const resolved = received.filter((r) => r.status === 200);
    expect(resolved).toHaveLength(2);
    expect(JSON.parse(resolved[1]!.body)).toMatchObject({
      event: 'resolve',
      incident: { id: incidents[0]!.id },
    });
    const all = await call('GET', '/v1/environments/dev/incidents', admin);
    expect((all.body as { items: unknown[] }).items).toMatchObject([
      { status: 'resolved', acknowledged: true },
    ]);

    // The test endpoint sends through the route now.
    const test = await call(
      'POST',
      `/v1/environments/dev/alert-routes/${(created.body as { id: string }).id}/test`,
      admin,
    );
    expect(test.body).toEqual({ delivered: true });
    expect(JSON.parse(received.at(-1)!.body)).toMatchObject({ event: 'test' });
    // A reader cannot create routes.
    const reader = await serviceToken('dev', ['monitoring.read'], 'reader');
    expect(
      (
        await call('POST', '/v1/environments/dev/alert-routes', reader, {
          type: 'slack',
          owner: 'x',
          url: receiverUrl,
        })
      ).status,
    ).toBe(403);
  });

  it('dead-letters a delivery the receiver keeps refusing', async () => {
    const admin = await serviceToken('dev', ['monitoring.read', 'monitoring.create'], 'dl');
    // A second failure of the resolver opens a new incident.
    await report(minuteOf(clock), 100, 100);
    clock += MINUTE;
    await plane.services.monitoring.schedule();
    expect(await plane.services.monitoring.drain()).toMatchObject([
      { changes: { opened: [expect.any(String)] } },
    ]);
    answers.push(500, 500, 500, 500, 500, 500);
    let dead = 0;
    for (let i = 0; i < 6; i++) {
      dead += (await plane.services.monitoring.deliver()).dead;
      clock += 5 * MINUTE;
    }
    expect(dead).toBe(1);
    const letters = await call('GET', '/v1/environments/dev/alert-deliveries?status=dead', admin);
    expect((letters.body as { items: unknown[] }).items).toMatchObject([
      { event: 'trigger', attempts: 6, last_error: 'the receiver answered 500' },
    ]);
  });
});
