import { createInProcessRuntime } from '@slate/engine';
import { describe, expect, it } from 'vitest';
import { createDataPlaneMetrics } from './data-plane-metrics.ts';

const context = { now: new Date(), environment: 'dev', deploymentId: 'c1', tags: [], queryContext: {} };

describe('instrumentRuntime', () => {
  it('times and counts every resolver call by resolver', async () => {
    const metrics = createDataPlaneMetrics();
    const runtime = metrics.instrumentRuntime(
      createInProcessRuntime(
        new Map([
          ['ok', () => ({ x: 1 })],
          [
            'boom',
            () => {
              throw new Error('no');
            },
          ],
        ]),
      ),
    );
    await runtime.call({ resolver: 'ok', rows: [{}, {}], context });
    await runtime.call({ resolver: 'ok', rows: [{}], context });
    const failed = await runtime.call({ resolver: 'boom', rows: [{}], context });
    expect(failed[0]?.ok).toBe(false);
    const { text } = await metrics.render();
    expect(text).toContain('resolver_request{id="ok",status="success"} 2');
    expect(text).toContain('resolver_request{id="boom",status="failure"} 1');
    expect(text).toContain('resolver_latency_seconds_count{id="ok",resolver_type="online"} 2');
    await runtime.close();
  });

  it('keeps each instance’s registry apart', async () => {
    const a = createDataPlaneMetrics();
    const b = createDataPlaneMetrics();
    await a
      .instrumentRuntime(createInProcessRuntime(new Map([['f', () => ({})]])))
      .call({ resolver: 'f', rows: [{}], context });
    expect((await a.render()).text).toContain('resolver_request{id="f"');
    expect((await b.render()).text).not.toContain('resolver_request{id="f"');
  });
});

describe('watchResultPublisher', () => {
  it('exports the publisher’s queue level, sheds and drops as read at scrape time', async () => {
    const metrics = createDataPlaneMetrics();
    let stats = { queued: 7, queuedBytes: 700, waiting: 2, published: 40, shed: 3, dropped: 1 };
    metrics.watchResultPublisher(() => stats);
    const line = (text: string, name: string) =>
      text.split('\n').find((l) => l.startsWith(`${name} `)) ?? `${name} missing`;
    let { text } = await metrics.render();
    expect(line(text, 'result_publisher_queued_messages')).toBe('result_publisher_queued_messages 7');
    expect(line(text, 'result_publisher_waiting_callers')).toBe('result_publisher_waiting_callers 2');
    expect(line(text, 'result_publisher_shed')).toBe('result_publisher_shed 3');
    expect(line(text, 'result_publisher_dropped')).toBe('result_publisher_dropped 1');
    stats = { ...stats, queued: 0, shed: 5 };
    ({ text } = await metrics.render());
    expect(line(text, 'result_publisher_queued_messages')).toBe('result_publisher_queued_messages 0');
    expect(line(text, 'result_publisher_shed')).toBe('result_publisher_shed 5');
  });
});

describe('observeQuery', () => {
  it('counts query names past the label limit under Other', async () => {
    const metrics = createDataPlaneMetrics();
    const result = {
      rowCount: 1,
      columns: [],
      errors: [],
      queryHash: null,
      planCacheHit: true,
      explain: '',
      warnings: [],
    };
    for (let i = 0; i < 1000; i++) metrics.observeQuery(`q${i}`, 0.001, result);
    metrics.observeQuery('one_too_many', 0.001, result);
    metrics.observeQuery('another', 0.001, result);
    metrics.observeQuery('q7', 0.001, result);
    const { text } = await metrics.render();
    expect(text).toContain('query_request{id="Other",status="success"} 2');
    expect(text).toContain('query_request{id="q7",status="success"} 2');
    expect(text).not.toContain('one_too_many');
  });
});
