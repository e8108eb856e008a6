import { describe, expect, it } from 'vitest';
import { busConfigFromEnv, createBus } from './bus-config.ts';

describe('busConfigFromEnv', () => {
  it('prefers Kafka, then Redis, then the embedded log', () => {
    expect(
      busConfigFromEnv(
        {
          KAFKA_BROKERS: 'a:9092, b:9092',
          KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: 'p',
          REDIS_URL: 'redis://x',
        },
        '/tmp/bus',
      ),
    ).toEqual({
      type: 'kafka',
      brokers: ['a:9092', 'b:9092'],
      ssl: false,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      topicPrefix: undefined,
      idempotent: true,
    });
    expect(
      busConfigFromEnv({ KAFKA_BROKERS: 'a:9092', KAFKA_IDEMPOTENT: 'false' }, '/tmp/bus'),
    ).toMatchObject({
      type: 'kafka',
      idempotent: false,
    });
    expect(
      busConfigFromEnv(
        { KAFKA_BROKERS: 'a:9092', KAFKA_PARTITIONS: '4', KAFKA_SESSION_TIMEOUT_MS: '6000' },
        '/tmp/bus',
      ),
    ).toMatchObject({ type: 'kafka', partitions: 4, sessionTimeoutMs: 6000 });
    expect(busConfigFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }, '/tmp/bus')).toEqual({
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: undefined,
    });
    expect(busConfigFromEnv({}, '/tmp/bus')).toEqual({ type: 'log', root: '/tmp/bus' });
  });

  it('refuses an invalid config', () => {
    expect(() => createBus({ type: 'kafka', brokers: [] })).toThrow();
    expect(() => createBus({ type: 'redis', url: 'http://nope' })).toThrow();
    expect(() =>
      createBus(busConfigFromEnv({ KAFKA_BROKERS: 'a:9092', KAFKA_PARTITIONS: 'four' }, '/tmp/bus')),
    ).toThrow();
    expect(() => createBus({ type: 'kafka', brokers: ['a:9092'], sessionTimeoutMs: 10 })).toThrow();
  });
});
