import { SlateError } from '@slate/graph';
import { createRedisBus } from '@slate/stores';
import { type OwnRedisServer, redisServerUnavailable, startRedisServer, unlessCi } from '@slate/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBusFeatureWriter } from './bus-feature-writer.ts';

const unavailable = unlessCi(redisServerUnavailable());
const values = [{ feature: 'user.score', pkey: 1, value: 7, observedAt: Date.UTC(2024, 0, 1) }];
const both = { online: true, offline: true };

describe.skipIf(unavailable !== undefined)('bus feature writer while its Redis restarts', () => {
  let redis: OwnRedisServer;
  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('refuses an upload with a retryable RESULT_BUS_UNAVAILABLE while Redis is down, and takes uploads again once it is back', async () => {
    const bus = createRedisBus({ url: redis.url, keyPrefix: 'writer' });
    await bus.init();
    const writer = createBusFeatureWriter(bus);
    const printed = vi.spyOn(console, 'error');
    try {
      // Down for long enough that the client gives up on the command (it retries twice on reconnect).
      const restarted = redis.restart({ signal: 'SIGKILL', downMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const error = await writer.write('prod', values, both).then(
        () => undefined,
        (e: unknown) => e,
      );
      await restarted;
      expect(error).toBeInstanceOf(SlateError);
      // Back up from its append-only file: the same writer takes uploads again.
      await expect(writer.write('prod', values, both)).resolves.toMatchObject({
        operationId: expect.any(String),
      });
      expect(error).toMatchObject({
        kind: 'unavailable',
        code: 'RESULT_BUS_UNAVAILABLE',
        details: { retryAfterS: 1 },
      });
      // The outage is reported through the refused upload, not by the client printing each reconnect attempt.
      expect(printed.mock.calls.flat().join('\n')).not.toContain('Unhandled error event');
    } finally {
      printed.mockRestore();
      await bus.close();
    }
  }, 60_000);
});
