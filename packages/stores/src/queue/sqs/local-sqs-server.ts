import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestHandler } from 'local-aws-sqs';

/** What this file touches of local-aws-sqs's (untyped) in-memory queue. */
interface LocalQueue {
  newRecord: (record: LocalRecord, delaySeconds: number) => { record: LocalRecord };
  changeVisibility: (receiptHandle: string, visibilityTimeout: number) => boolean;
  corrected?: true;
}
interface LocalRecord {
  MessageId: string;
  attributes: { ApproximateReceiveCount: string };
}

/** A running local-aws-sqs server and its endpoint. */
export interface LocalSqsServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts local-aws-sqs (ADR 0014), an SQS server in this process speaking the AWS JSON 1.0 protocol of
 * `@aws-sdk/client-sqs`, on a free port of 127.0.0.1. For tests only.
 *
 * One correction to SQS's documented behaviour: local-aws-sqs 2.0.2 counts a ChangeMessageVisibility as
 * a receive (it bumps `ApproximateReceiveCount`, so a failed-then-retried message reaches the dead-letter
 * queue one attempt early). Here each queue remembers its messages and takes that extra count back.
 */
export async function startLocalSqsServer(): Promise<LocalSqsServer> {
  const { service, requestHandler } = createRequestHandler({
    port: 0,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  const queues = () => (service as unknown as { Queues: LocalQueue[] }).Queues;
  const server: Server = createServer((request, response) => {
    for (const queue of queues()) if (!queue.corrected) correctReceiveCount(queue);
    void requestHandler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (service as unknown as { PORT: number }).PORT = port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function correctReceiveCount(queue: LocalQueue): void {
  queue.corrected = true;
  const records = new Map<string, LocalRecord>();
  const newRecord = queue.newRecord;
  queue.newRecord = (record, delaySeconds) => {
    records.set(record.MessageId, record);
    return newRecord(record, delaySeconds);
  };
  const changeVisibility = queue.changeVisibility.bind(queue);
  queue.changeVisibility = (receiptHandle, visibilityTimeout) => {
    const changed = changeVisibility(receiptHandle, visibilityTimeout);
    const decoded = Buffer.from(receiptHandle, 'base64').toString('utf8');
    const messageId = (JSON.parse(decoded.slice(decoded.indexOf('{'))) as { MessageId?: string }).MessageId;
    const record = messageId === undefined ? undefined : records.get(messageId);
    if (changed && record) {
      record.attributes.ApproximateReceiveCount = String(
        Number(record.attributes.ApproximateReceiveCount) - 1,
      );
    }
    return changed;
  };
}
