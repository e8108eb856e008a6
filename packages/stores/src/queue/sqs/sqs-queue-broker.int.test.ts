import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { runQueueConformance } from '../queue-conformance.ts';
import { type LocalSqsServer, startLocalSqsServer } from './local-sqs-server.ts';
import { createSqsQueueBroker } from './sqs-queue-broker.ts';

// Against SLATE_TEST_SQS_ENDPOINT when set (ElasticMQ, LocalStack or AWS itself); otherwise against
// local-aws-sqs (ADR 0014), an SQS server in this process on a free port that speaks the AWS JSON 1.0
// protocol our @aws-sdk/client-sqs uses. So the suite always runs: no skip, under CI or not.
const configured = process.env.SLATE_TEST_SQS_ENDPOINT;
let server: LocalSqsServer | undefined;
let endpoint = configured ?? '';

beforeAll(async () => {
  if (configured) return;
  server = await startLocalSqsServer();
  endpoint = server.endpoint;
});

afterAll(async () => {
  await server?.close();
});

const namePrefix = `slate-${randomBytes(4).toString('hex')}-`;
runQueueConformance('SQS', {
  create: async () =>
    createSqsQueueBroker({
      endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      namePrefix,
      ...(configured && process.env.AWS_ACCESS_KEY_ID
        ? {}
        : { credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    }),
  slackMs: configured ? 2_000 : 500,
});
