import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { runBusConformance } from '../bus-conformance.ts';
import { createKafkaBus } from './kafka-bus.ts';

/**
 * No Kafka broker can be installed on the development machines or CI, so this suite runs only where
 * `KAFKA_BROKERS` (comma-separated `host:port`) names one; `KAFKA_SASL_USERNAME`/`KAFKA_SASL_PASSWORD`
 * switch on SCRAM-SHA-512 as the seed product's install uses it.
 */
const brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
const username = process.env.KAFKA_SASL_USERNAME;
const password = process.env.KAFKA_SASL_PASSWORD;
const topicPrefix = `slate-test-${randomUUID().slice(0, 8)}-`;

describe.skipIf(brokers.length === 0)('createKafkaBus (Kafka at KAFKA_BROKERS)', () => {
  runBusConformance('kafka', {
    create: async () => {
      const bus = createKafkaBus({
        brokers,
        topicPrefix,
        sasl: username && password ? { mechanism: 'scram-sha-512', username, password } : undefined,
        ssl: process.env.KAFKA_SSL === 'true',
      });
      await bus.init();
      return bus;
    },
  });
});
