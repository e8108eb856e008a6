import { describe, expect, it } from 'vitest';
import { kafkaMockClusterUnavailable, startKafkaMockCluster } from './kafka-mock-cluster.ts';
import { isReachable, unlessCi } from './services.ts';

const unavailable = unlessCi(kafkaMockClusterUnavailable());

describe.skipIf(unavailable !== undefined)(
  `startKafkaMockCluster${unavailable ? ` (${unavailable})` : ''}`,
  () => {
    it('starts the requested brokers on loopback ports, and frees them on stop', async () => {
      const cluster = await startKafkaMockCluster({ brokers: 2 });
      expect(cluster.brokers).toHaveLength(2);
      expect(new Set(cluster.brokers).size).toBe(2);
      for (const broker of cluster.brokers) {
        expect(broker).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(await isReachable(`kafka://${broker}`)).toBe(true);
      }
      await cluster.stop();
      await cluster.stop();
      for (const broker of cluster.brokers) expect(await isReachable(`kafka://${broker}`)).toBe(false);
    });
  },
);
