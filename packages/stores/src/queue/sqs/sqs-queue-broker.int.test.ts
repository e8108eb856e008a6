import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { runQueueConformance } from '../queue-conformance.ts';
import { createSqsQueueBroker } from './sqs-queue-broker.ts';

// No SQS server runs on this project's machines (none is packaged for npm or Debian): the suite runs
// only where SLATE_TEST_SQS_ENDPOINT names one (ElasticMQ, LocalStack or AWS itself).
const endpoint = process.env.SLATE_TEST_SQS_ENDPOINT;

if (endpoint) {
  const namePrefix = `slate-${randomBytes(4).toString('hex')}-`;
  runQueueConformance('SQS', {
    create: async () =>
      createSqsQueueBroker({
        endpoint,
        region: process.env.AWS_REGION ?? 'us-east-1',
        namePrefix,
        ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      }),
    slackMs: 2_000,
  });
} else {
  describe('Queue conformance: SQS', () => {
    it.skip('SLATE_TEST_SQS_ENDPOINT is not set (no SQS server runs here)', () => {});
  });
}
