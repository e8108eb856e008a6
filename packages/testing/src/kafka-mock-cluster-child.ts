/**
 * The process behind `startKafkaMockCluster`: `node --import tsx kafka-mock-cluster-child.ts <brokers>`.
 * A librdkafka client created with `test.mock.num.brokers` starts librdkafka's in-process mock cluster,
 * whose brokers listen on loopback ports. The child reads their addresses from a metadata request (the
 * mock replaces `bootstrap.servers` with them), puts a front before each (`startKafkaMockFront`: corrects
 * the API versions the mock over-advertises), prints `{"brokers":["127.0.0.1:PORT",…]}` (the fronts) as
 * one line on stdout, and keeps the cluster up until its stdin closes: when the parent stops it or dies,
 * the cluster goes with it.
 */
import { createRequire } from 'node:module';
import { type KafkaMockFront, startKafkaMockFront } from './kafka-mock-front.ts';

/** The part of `@confluentinc/kafka-javascript`'s node-rdkafka API used here. */
interface RdkafkaProducer {
  connect(options: object, callback: (error: unknown) => void): void;
  getMetadata(
    options: { timeout: number },
    callback: (error: unknown, metadata: { brokers: { host: string; port: number }[] }) => void,
  ): void;
  disconnect(callback: () => void): void;
}
interface Rdkafka {
  Producer: new (config: Record<string, string | number | boolean>) => RdkafkaProducer;
}

const brokerCount = Number(process.argv[2] ?? '3');
// A CommonJS native module; `createRequire` keeps the child free of its (absent) types.
const rdkafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as Rdkafka;
const holder = new rdkafka.Producer({
  'test.mock.num.brokers': brokerCount,
  // Ignored once the mock is on; librdkafka still wants a value.
  'bootstrap.servers': '127.0.0.1:1',
  'client.id': 'slate-kafka-mock-cluster',
});

const fail = (error: unknown) => {
  process.stderr.write(`kafka mock cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
};

holder.connect({}, (error) => {
  if (error) return fail(error);
  holder.getMetadata({ timeout: 10_000 }, (metadataError, metadata) => {
    if (metadataError) return fail(metadataError);
    const brokers = metadata.brokers.map((broker) => `${broker.host}:${broker.port}`);
    startKafkaMockFront(brokers).then((started) => {
      front = started;
      process.stdout.write(`${JSON.stringify({ brokers: started.brokers })}\n`);
    }, fail);
  });
});

let front: KafkaMockFront | undefined;
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void front?.close();
  holder.disconnect(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.on('SIGTERM', stop);
process.stdin.resume();
