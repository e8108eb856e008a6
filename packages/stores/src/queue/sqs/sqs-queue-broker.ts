import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import {
  assertQueueName,
  deadLetterNameOf,
  type Queue,
  type QueueBody,
  type QueueBroker,
  type QueueMessage,
  QueueOptionsSchema,
  type ResolvedQueueOptions,
  retryDelaySeconds,
} from '../queue.ts';

export interface SqsQueueBrokerOptions {
  /** An SQS client to use (owned by the caller), or the config to build one. */
  readonly client?: SQSClient;
  readonly region?: string;
  /** Endpoint override (LocalStack, ElasticMQ, a VPC endpoint). */
  readonly endpoint?: string;
  readonly credentials?: SQSClientConfig['credentials'];
  /** Prefix of every SQS queue name (e.g. the installation's name); default none. */
  readonly namePrefix?: string;
}

/**
 * `QueueBroker` on Amazon SQS, for installations on AWS (the install guide provisions one SQS queue per
 * Slate queue). Queues are FIFO (`<prefix><name>.fifo`) so an idempotency key can be SQS's
 * `MessageDeduplicationId` (remembered 5 minutes); each message gets its own message group, so FIFO does
 * not serialise processing. The visibility timeout is the queue's `VisibilityTimeout`; a failed message
 * gets its visibility changed to the backoff delay; after `maxAttempts` receives SQS's redrive policy moves
 * it to `<name>-dlq`.
 *
 * @example
 * const broker = createSqsQueueBroker({ region: 'us-east-1', namePrefix: 'acme-' });
 * const q = await broker.queue('batch-status');
 */
export function createSqsQueueBroker(options: SqsQueueBrokerOptions = {}): QueueBroker {
  const client =
    options.client ??
    new SQSClient({ region: options.region, endpoint: options.endpoint, credentials: options.credentials });
  const prefix = options.namePrefix ?? '';

  const ensure = async (sqsName: string, attributes: Record<string, string>): Promise<string> => {
    try {
      const existing = await client.send(new GetQueueUrlCommand({ QueueName: sqsName }));
      if (existing.QueueUrl) return existing.QueueUrl;
    } catch (error) {
      if (!/QueueDoesNotExist|NonExistentQueue/.test(String((error as { name?: string }).name))) throw error;
    }
    const created = await client.send(
      new CreateQueueCommand({ QueueName: sqsName, Attributes: { FifoQueue: 'true', ...attributes } }),
    );
    if (!created.QueueUrl) throw new Error(`SQS did not return a URL for ${sqsName}`);
    return created.QueueUrl;
  };

  return {
    capabilities: { idempotencyWindowSeconds: 300, durable: true, reportsDuplicates: false },
    async init() {},
    async queue<T extends QueueBody>(name: string, queueOptions = {}): Promise<Queue<T>> {
      assertQueueName(name);
      const resolved: ResolvedQueueOptions = QueueOptionsSchema.parse(queueOptions);
      const dlqName = deadLetterNameOf(name);
      const dlqUrl = await ensure(`${prefix}${dlqName}.fifo`, { MessageRetentionPeriod: '1209600' });
      const dlqArn = (
        await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
      ).Attributes?.QueueArn;
      const url = await ensure(`${prefix}${name}.fifo`, {
        VisibilityTimeout: String(resolved.visibilityTimeoutSeconds),
        ...(dlqArn && !name.endsWith('-dlq')
          ? {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: dlqArn,
                maxReceiveCount: resolved.maxAttempts,
              }),
            }
          : {}),
      });
      return {
        name,
        deadLetterName: dlqName,
        options: resolved,
        async send(body, sendOptions = {}) {
          const dedup = sendOptions.idempotencyKey ?? randomUUID();
          const result = await client.send(
            new SendMessageCommand({
              QueueUrl: url,
              MessageBody: JSON.stringify(body),
              MessageGroupId: randomUUID(),
              MessageDeduplicationId: dedup.replace(/[^A-Za-z0-9!-/:-@[-`{-~]/g, '_').slice(0, 128),
            }),
          );
          // SQS answers a deduplicated send with the first message's id, and does not say it was one.
          return { id: result.MessageId ?? dedup, duplicate: false };
        },
        async receive(receiveOptions = {}) {
          const result = await client.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: Math.min(10, receiveOptions.max ?? 1),
              WaitTimeSeconds: Math.min(20, Math.floor((receiveOptions.waitMs ?? 0) / 1000)),
              MessageSystemAttributeNames: ['ApproximateReceiveCount'],
              // The deprecated spelling too: servers that predate MessageSystemAttributeNames (local-aws-sqs,
              // which the suite runs against, older ElasticMQ) honour only this one; AWS answers either.
              AttributeNames: ['All'],
            }),
            { abortSignal: receiveOptions.signal },
          );
          return (result.Messages ?? []).map(
            (m): QueueMessage<T> => ({
              id: m.MessageId ?? '',
              body: JSON.parse(m.Body ?? '{}') as T,
              attempt: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
              receipt: m.ReceiptHandle ?? '',
            }),
          );
        },
        async complete(message) {
          await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.receipt }));
        },
        async fail(message) {
          // Out of attempts: make it visible now, so the redrive policy moves it on the next receive.
          const delay =
            message.attempt >= resolved.maxAttempts
              ? 0
              : Math.round(retryDelaySeconds(resolved, message.attempt));
          await client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: message.receipt,
              VisibilityTimeout: Math.min(43_200, delay),
            }),
          );
        },
        async depth() {
          const attributes = await client.send(
            new GetQueueAttributesCommand({
              QueueUrl: url,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          );
          const a = attributes.Attributes ?? {};
          return (
            Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0)
          );
        },
      };
    },
    async close() {
      if (!options.client) client.destroy();
    },
  };
}
