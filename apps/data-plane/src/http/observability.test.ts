import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import * as accounts from './fixtures/account-module.ts';
import { createTestPlane } from './fixtures/test-plane.ts';

function capturedLogger(level: string) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const card = '4111-2222-3333-4444';

describe('logs', () => {
  it('carry query_id and correlation_id, never sensitive inputs or tokens', async () => {
    const { logger, lines } = capturedLogger('debug');
    const plane = await createTestPlane({ module: accounts, logger });
    const token = await plane.token();
    const query = (body: unknown) =>
      plane.app.inject({
        method: 'POST',
        url: '/v1/query/online',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    const ok = await query({
      inputs: { 'account.id': 31337, 'account.card_number': card },
      outputs: ['account.card_brand'],
      correlation_id: 'corr-42',
      include_meta: true,
    });
    // A value of the wrong type makes the engine quote it in the error message: that must not be logged.
    await query({ inputs: { 'account.card_number': 4111222233334444 }, outputs: ['account.card_brand'] });
    await plane.app.inject({
      method: 'GET',
      url: '/v1/who-am-i',
      headers: { authorization: `Bearer ${token}x` },
    });

    const queryId = ok.json().meta.query_id;
    const entries = lines.map((line) => JSON.parse(line));
    const logged = entries.find((entry) => entry.query_id === queryId);
    expect(logged).toMatchObject({ correlation_id: 'corr-42', msg: 'online query', deployment_id: 'cdep1' });
    expect(logged.inputs).toEqual({ 'account.id': 31337, 'account.card_number': '[REDACTED]' });
    const text = lines.join('\n');
    expect(text).toContain('31337');
    expect(text).not.toContain(card);
    expect(text).not.toContain('4111222233334444');
    expect(text).not.toContain(token.split('.')[2]);
  });

  it('warn, with the query id, when a query uses a deprecated feature', async () => {
    const { logger, lines } = capturedLogger('info');
    const plane = await createTestPlane({ module: accounts, logger });
    const response = await plane.app.inject({
      method: 'POST',
      url: '/v1/query/online',
      headers: { authorization: `Bearer ${await plane.token()}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        inputs: { 'account.card_number': '5500' },
        outputs: ['account.legacy_brand'],
        include_meta: true,
      }),
    });
    expect(response.json().data[0].value).toBe('5');
    const warning = lines
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg === 'query used deprecated features');
    expect(warning).toMatchObject({ level: 40, query_id: response.json().meta.query_id });
    expect(warning.warnings.join(' ')).toContain('account.legacy_brand');
  });

  it('leave inputs out at info level', async () => {
    const { logger, lines } = capturedLogger('info');
    const plane = await createTestPlane({ module: accounts, logger });
    await plane.app.inject({
      method: 'POST',
      url: '/v1/query/online',
      headers: { authorization: `Bearer ${await plane.token()}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ inputs: { 'account.id': 31337 }, outputs: ['account.nickname'] }),
    });
    const entry = lines.map((line) => JSON.parse(line)).find((e) => e.msg === 'online query');
    expect(entry).toBeDefined();
    expect(entry.inputs).toBeUndefined();
    expect(lines.join('\n')).not.toContain('31337');
  });
});

describe('GET /metrics', () => {
  it('exposes the seed product’s metric names with counts of what was served', async () => {
    const plane = await createTestPlane({ module: accounts });
    const token = await plane.token();
    const query = (body: unknown) =>
      plane.app.inject({
        method: 'POST',
        url: '/v1/query/online',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    for (const number of ['4000', '5000', '4111'])
      await query({ inputs: { 'account.card_number': number }, outputs: ['account.card_brand'] });
    await query({ inputs: { 'account.card_number': 7 }, outputs: ['account.card_brand'] });
    await query({ inputs: { 'account.card_number': '4' }, query_name: 'brand_check' });
    await query({
      inputs: { 'account.card_number': '4' },
      outputs: ['account.card_brand'],
      query_name: 'checkout_page',
    });

    const response = await plane.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await plane.token({ perms: ['monitoring.read'] })}` },
    });
    expect(response.statusCode).toBe(200);
    const text = response.body;
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('query_request{id="Unnamed",status="success"}')).toBe(3);
    expect(value('query_request{id="Unnamed",status="failure"}')).toBe(1);
    expect(value('query_request{id="brand_check",status="success"}')).toBe(1);
    expect(value('query_request{id="checkout_page",status="success"}')).toBe(1);
    expect(value('feature_request{id="account.card_brand",status="success",context="inference"}')).toBe(5);
    expect(value('query_latency_seconds_count{id="Unnamed"}')).toBe(4);
    expect(value('query_latency_seconds{quantile="0.99",id="Unnamed"}')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE resolver_latency_seconds summary');
  });

  it('needs a token holding monitoring.read', async () => {
    const plane = await createTestPlane();
    const denied = await plane.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await plane.token({ perms: ['query.online'] })}` },
    });
    expect(denied.statusCode).toBe(403);
    expect((await plane.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  });
});

describe('GET /readyz', () => {
  it('is ready only once every served environment has its deployment loaded', async () => {
    let reconciled = false;
    const plane = await createTestPlane({ server: { isReady: () => reconciled } });
    const ready = async () => (await plane.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
    expect(await ready()).toBe(503);
    reconciled = true;
    // `prod` is known but its deployment has not loaded yet.
    expect(await ready()).toBe(503);
    plane.served.activate('prod', { id: 'cprod1', engine: plane.engineFor('cprod1') });
    expect(await ready()).toBe(200);
    expect((await plane.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
