import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { SlateError } from '@slate/graph';
import kafkajs, { type Admin, type Consumer, Kafka, type Producer, type SASLOptions } from 'kafkajs';
import {
  type Bus,
  type BusConsumer,
  type BusMessage,
  type ConsumerOptions,
  DEAD_LETTER_OFFSET_HEADER,
  DEAD_LETTER_REASON_HEADER,
  deadLetterTopic,
  type OutgoingMessage,
  type PollOptions,
} from '../bus.ts';
import { busClosed, checkBusName, checkMessages, waitFor } from '../bus-input.ts';
import { createKafkaPartitionOffsets } from './kafka-partition-offsets.ts';

// kafkajs is CommonJS and spreads its error classes into its exports, which Node's named-export
// detection cannot see.
const { KafkaJSBrokerNotFound, KafkaJSServerDoesNotSupportApiKey } = kafkajs;

/** True when kafkajs failed with `type` itself or wrapped it (its retrier wraps non-retriable causes). */
function failedWith(error: unknown, type: abstract new (...args: never[]) => Error): boolean {
  return error instanceof type || (error instanceof Error && error.cause instanceof type);
}

/**
 * A commit while this consumer's member has left the group and a new one is joining: the group no longer
 * knows the member, so it is refused like any commit from a dropped member (`UNKNOWN_MEMBER_ID`) and waits
 * for the join (kafka-partition-offsets.ts).
 */
function memberGone(): Error {
  return Object.assign(new Error('the consumer left its group and is joining again'), {
    type: 'UNKNOWN_MEMBER_ID',
  });
}

/** Options for `createKafkaBus`, as the seed product's background-persistence install configures Kafka. */
export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly ssl?: boolean;
  /** SASL/SCRAM (or PLAIN) credentials; the seed product's Kafka buses use SCRAM. */
  readonly sasl?: {
    readonly mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain';
    readonly username: string;
    readonly password: string;
  };
  /** Prepended to every topic name (e.g. an environment). Default none. */
  readonly topicPrefix?: string;
  /** Partitions of topics the bus creates. Default 1. */
  readonly partitions?: number;
  /** Messages a consumer buffers ahead of `poll` before it stops fetching. Default 1,000. */
  readonly bufferSize?: number;
  /**
   * Publish with Kafka's idempotent producer (no duplicates from the producer's own retries). Default
   * true. Turn it off for clusters that refuse it: brokers before 2.8 without the `IdempotentWrite` ACL
   * for the principal, or servers whose metadata names no reachable controller (kafkajs asks the
   * controller for a producer id). Order per key holds either way (one request in flight).
   */
  readonly idempotent?: boolean;
  /** Consumer-group timing, passed to kafkajs's consumer (whose defaults apply when unset). */
  readonly consumerTiming?: {
    /** How long a consumer may go silent before the group drops it and rebalances. kafkajs default 30 s. */
    readonly sessionTimeoutMs?: number;
    /** How often a consumer heartbeats; below a third of the session timeout. kafkajs default 3 s. */
    readonly heartbeatIntervalMs?: number;
    /** Longest a fetch waits on the broker for data (and so the longest `close` waits). kafkajs default 5 s. */
    readonly maxWaitMs?: number;
    /**
     * How long an acknowledgement refused by a rebalance waits for this consumer to rejoin the group before
     * it fails (`KAFKA_REJOIN_TIMEOUT`). Default 60 s (kafkajs's rebalance timeout).
     */
    readonly rejoinWaitMs?: number;
  };
}

const ID_HEADER = 'slate-id';
const TIME_HEADER = 'slate-published-at';

/**
 * A `Bus` on Kafka through the KafkaJS API (`kafkajs`; `@confluentinc/kafka-javascript`'s KafkaJS layer
 * is a drop-in). Topics are created on first use with `partitions` partitions (where the cluster takes no
 * CreateTopics from this client, by auto-creation, whose partition count must cover `partitions`, else
 * `SlateError` `KAFKA_TOPIC_UNAVAILABLE`/`KAFKA_TOPIC_PARTITIONS`); a message goes to partition
 * `crc32(key) % partitions`, which is what keeps a key in order. Offsets are `partition:offset`.
 * Consumers fetch into a bounded buffer (backpressure: fetching pauses while it is full) and commit, on
 * `ack`, the offset below which everything is acknowledged, per partition. A rebalance never fails an
 * `ack`: a commit the group refuses while it rebalances is sent again under the new generation once this
 * consumer has rejoined, if the partition is still its own, and dropped if the partition moved (its new
 * owner restarts from the committed offset, so those messages are delivered again: at least once);
 * `ack` resolves when the commit is durable or the partition is known revoked, and waits at most
 * `consumerTiming.rejoinWaitMs` for the rejoin. Unlike the other backends a
 * group is split among its consumers by partition, not by message, and idle deliveries are not handed to
 * another consumer (`redeliversIdle: false`): a crashed consumer's messages come back after the group
 * rebalances. `seek` needs the group to have no running consumer (Kafka's rule for setting offsets; a
 * `conflict` `KAFKA_GROUP_RUNNING` where the server answers DescribeGroups).
 *
 * @example
 * const bus = createKafkaBus({ brokers: ['kafka-1:9096'], ssl: true, sasl: { mechanism: 'scram-sha-512', username, password } });
 * await bus.init();
 */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'slate',
    brokers: [...options.brokers],
    ssl: options.ssl,
    sasl: options.sasl as SASLOptions | undefined,
    logLevel: 1,
  });
  const partitions = options.partitions ?? 1;
  const consumerTiming = {
    sessionTimeout: options.consumerTiming?.sessionTimeoutMs,
    heartbeatInterval: options.consumerTiming?.heartbeatIntervalMs,
    maxWaitTimeInMs: options.consumerTiming?.maxWaitMs,
  };
  const bufferSize = options.bufferSize ?? 1_000;
  const name = (topic: string) => `${options.topicPrefix ?? ''}${topic}`;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  const created = new Map<string, Promise<void>>();
  const consumers = new Set<BusConsumer>();
  const deliveryCounts = new Map<string, Map<string, number>>();
  let closed = false;
  const alive = () => {
    if (closed) throw busClosed();
  };

  const createTopic = async (topic: string) => {
    try {
      await admin!.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      return;
    } catch (error) {
      if (
        !failedWith(error, KafkaJSBrokerNotFound) &&
        !failedWith(error, KafkaJSServerDoesNotSupportApiKey)
      ) {
        throw error;
      }
    }
    // No CreateTopics here: the metadata names a controller this client cannot reach (proxies, some
    // managed and Kafka-compatible servers) or the server lacks the API. A metadata request creates the
    // topic where the cluster auto-creates topics (`auto.create.topics.enable`), with its default
    // partition count, which must cover the partitions this bus writes to. kafkajs's admin never asks for
    // auto-creation; a consumer's subscribe does (and joins no group until it runs).
    const probe = kafka.consumer({ groupId: 'slate-topic-probe', allowAutoTopicCreation: true });
    const metadata = await (async () => {
      await probe.connect();
      try {
        await probe.subscribe({ topic });
        return await admin!.fetchTopicMetadata({ topics: [topic] });
      } finally {
        await probe.disconnect();
      }
    })().catch((error: unknown) => {
      throw new SlateError(
        'unavailable',
        'KAFKA_TOPIC_UNAVAILABLE',
        `topic ${topic} does not exist and the cluster neither takes CreateTopics from this client nor auto-creates it`,
        { topic },
        { cause: error },
      );
    });
    const found = metadata.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    if (found < partitions) {
      throw new SlateError(
        'unavailable',
        'KAFKA_TOPIC_PARTITIONS',
        `topic ${topic} has ${found} partitions; the bus writes to ${partitions}`,
        { topic, partitions: found, required: partitions },
      );
    }
  };

  const ensureTopic = (topic: string) => {
    let done = created.get(topic);
    if (!done) {
      // A failure is not cached: the next publish tries again.
      done = createTopic(name(topic)).catch((error: unknown) => {
        created.delete(topic);
        throw error;
      });
      created.set(topic, done);
    }
    return done;
  };

  const send = async (topic: string, messages: readonly OutgoingMessage[]): Promise<string[]> => {
    await ensureTopic(topic);
    const now = String(Date.now());
    const partitionOf = (key: string) => crc32(key) % partitions;
    const byPartition = new Map<number, number[]>();
    messages.forEach((message, i) => {
      const p = partitionOf(message.key);
      byPartition.set(p, [...(byPartition.get(p) ?? []), i]);
    });
    const result = await producer!.send({
      topic: name(topic),
      acks: -1,
      messages: messages.map((message) => ({
        key: message.key,
        value: message.value,
        partition: partitionOf(message.key),
        headers: { ...(message.headers ?? {}), [ID_HEADER]: message.id ?? randomUUID(), [TIME_HEADER]: now },
      })),
    });
    const offsets = new Array<string>(messages.length);
    for (const meta of result) {
      const indexes = byPartition.get(meta.partition) ?? [];
      indexes.forEach((index, k) => {
        offsets[index] = `${meta.partition}:${BigInt(meta.baseOffset ?? '0') + BigInt(k)}`;
      });
    }
    return offsets;
  };

  const parseOffset = (offset: string) => {
    const match = /^(\d+):(\d+)$/.exec(offset);
    if (!match) throw new SlateError('input', 'INVALID_OFFSET', `invalid offset ${JSON.stringify(offset)}`);
    return { partition: Number(match[1]), offset: match[2]! };
  };

  /**
   * What kafkajs's `admin.setOffsets` does (a member joins the group, seeks, commits, leaves), with the
   * check that no consumer is running asked through DescribeGroups only where the server has that API.
   */
  const setGroupOffset = async (group: string, topic: string, at: { partition: number; offset: string }) => {
    const described = await admin!.describeGroups([group]).catch((error: unknown) => {
      if (failedWith(error, KafkaJSServerDoesNotSupportApiKey)) return undefined;
      throw error;
    });
    const state = described?.groups[0]?.state;
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      throw new SlateError(
        'conflict',
        'KAFKA_GROUP_RUNNING',
        `group ${group} has running consumers (${state}); close them before seeking`,
        { group, state },
      );
    }
    const seeker = kafka.consumer({ groupId: group, ...consumerTiming });
    await seeker.connect();
    try {
      await seeker.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        // The seek is resolved and committed (autoCommit) before the first fetch completes.
        const off = seeker.on(seeker.events.FETCH, () => {
          off();
          resolve();
        });
        seeker.run({ eachBatchAutoResolve: false, eachBatch: async () => {} }).catch(reject);
        seeker.pause([{ topic }]);
        seeker.seek({ topic, partition: at.partition, offset: at.offset });
      });
    } finally {
      await seeker.disconnect();
    }
  };

  const bus: Bus = {
    capabilities: { persistent: true, shared: true, redeliversIdle: false },
    async init() {
      admin = kafka.admin();
      producer = kafka.producer({ idempotent: options.idempotent ?? true, maxInFlightRequests: 1 });
      await Promise.all([admin.connect(), producer.connect()]);
    },
    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.close()));
      closed = true;
      await Promise.all([producer?.disconnect(), admin?.disconnect()]);
    },
    async publish(topic, messages, signal) {
      alive();
      checkBusName(topic, 'topic');
      checkMessages(messages);
      signal?.throwIfAborted();
      return send(topic, messages);
    },
    async seek(topic, group, offset) {
      alive();
      checkBusName(topic, 'topic');
      checkBusName(group, 'group');
      const at = parseOffset(offset);
      await ensureTopic(topic);
      await setGroupOffset(group, name(topic), at);
      deliveryCounts.delete(`${topic}\u0000${group}`);
    },
    consumer(consumerOptions: ConsumerOptions): BusConsumer {
      alive();
      const { topic, group } = consumerOptions;
      checkBusName(topic, 'topic');
      checkBusName(group, 'group');
      const consumerName = consumerOptions.name ?? randomUUID();
      const maxDeliveries = consumerOptions.maxDeliveries ?? 5;
      const countsKey = `${topic}\u0000${group}`;
      const counts = deliveryCounts.get(countsKey) ?? new Map<string, number>();
      deliveryCounts.set(countsKey, counts);
      const buffer: Omit<BusMessage, 'deliveries'>[] = [];
      const retry: Omit<BusMessage, 'deliveries'>[] = [];
      let kafkaConsumer: Consumer | undefined;
      const offsets = createKafkaPartitionOffsets({
        commit: async (partition, offset) => {
          if (memberLost) throw memberGone();
          await kafkaConsumer!.commitOffsets([{ topic: name(topic), partition, offset: String(offset) }]);
        },
        rejoinWaitMs: options.consumerTiming?.rejoinWaitMs,
      });
      let wake: (() => void) | undefined;
      let drained: (() => void) | undefined;
      /** Bumped on every rebalance; a batch fetched before one stops buffering. */
      let generation = 0;
      let started: Promise<void> | undefined;
      let open = true;

      /** Set while this consumer's group member is gone (kafkajs gave up) and a new one is joining. */
      let memberLost = false;
      let rejoins = 0;
      let rejoinTimer: NodeJS.Timeout | undefined;

      const join = async () => {
        const instance = kafka.consumer({ groupId: group, ...consumerTiming });
        kafkaConsumer = instance;
        await instance.connect();
        await instance.subscribe({
          topic: name(topic),
          fromBeginning: (consumerOptions.from ?? 'earliest') === 'earliest',
        });
        // A rebalance restarts every partition this consumer is given from its committed offset, and
        // hands the others to other consumers: what was buffered (or given back) goes, and so does the
        // state of partitions no longer ours, so nothing is delivered twice from here or committed for a
        // partition another consumer owns. Delivered and unacknowledged messages stay with the caller;
        // re-fetched copies of those, and of acknowledged ones above the commit, are skipped; commits
        // refused by the rebalance are sent again now, under the new generation (kafka-partition-offsets.ts).
        instance.on(instance.events.GROUP_JOIN, ({ payload }) => {
          generation++;
          memberLost = false;
          rejoins = 0;
          buffer.length = 0;
          retry.length = 0;
          offsets.assign(payload.memberAssignment[name(topic)] ?? [], payload.memberId);
        });
        // kafkajs restarts a consumer only after an error it calls retriable. Any other (a coordinator
        // answering a SyncGroup with INVALID_REQUEST during a rebalance, say) leaves it
        // disconnected for good, and the group would stop being read. An open bus consumer never stops:
        // it joins again as a new member, after 1, 2, 4… up to 30 s, and its partitions restart from the
        // group's committed offsets (at least once, like any rebalance).
        instance.on(instance.events.CRASH, ({ payload }) => {
          if (payload.restart || instance !== kafkaConsumer) return;
          memberLost = true;
          rejoinLater();
        });
        await instance.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning }) => {
            const batchGeneration = generation;
            for (const message of batch.messages) {
              if (batchGeneration !== generation) return;
              resolveOffset(message.offset);
              if (offsets.fetched(batch.partition, BigInt(message.offset))) continue;
              const headers = Object.fromEntries(
                Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v ?? '')]),
              );
              const { [ID_HEADER]: id = '', [TIME_HEADER]: time = '0', ...rest } = headers;
              buffer.push({
                topic,
                offset: `${batch.partition}:${message.offset}`,
                key: message.key?.toString() ?? '',
                value: message.value?.toString() ?? '',
                id,
                headers: rest,
                publishedAt: Number(time),
              });
              wake?.();
              while (buffer.length >= bufferSize && isRunning() && open) {
                await new Promise<void>((resolve) => {
                  drained = resolve;
                  setTimeout(resolve, 1_000);
                });
                await heartbeat();
              }
            }
            await heartbeat();
          },
        });
      };

      const rejoinLater = () => {
        if (!open) return;
        generation++;
        buffer.length = 0;
        retry.length = 0;
        const delayMs = Math.min(30_000, 1_000 * 2 ** rejoins++);
        rejoinTimer = setTimeout(() => {
          rejoinTimer = undefined;
          if (!open) return;
          join().catch(async () => {
            await kafkaConsumer?.disconnect().catch(() => {});
            rejoinLater();
          });
        }, delayMs);
      };

      const start = async () => {
        await ensureTopic(topic);
        await join();
      };

      const acknowledge = async (messages: readonly BusMessage[]) => {
        const positions = messages.map((message) => {
          counts.delete(message.offset);
          const { partition, offset } = parseOffset(message.offset);
          return { partition, offset: BigInt(offset) };
        });
        await offsets.acknowledge(positions);
      };

      const moveToDeadLetter = async (messages: readonly BusMessage[], reason: string) => {
        if (messages.length === 0) return;
        await send(
          deadLetterTopic(topic),
          messages.map((m) => ({
            key: m.key,
            value: m.value,
            id: m.id,
            headers: {
              ...m.headers,
              [DEAD_LETTER_REASON_HEADER]: reason,
              [DEAD_LETTER_OFFSET_HEADER]: m.offset,
            },
          })),
        );
        await acknowledge(messages);
      };

      const consumer: BusConsumer = {
        topic,
        group,
        name: consumerName,
        async poll(pollOptions: PollOptions = {}) {
          if (!open) throw busClosed();
          started ??= start();
          await started;
          const max = pollOptions.max ?? 100;
          const deadline = Date.now() + (pollOptions.waitMs ?? 0);
          for (;;) {
            const out: BusMessage[] = [];
            const dead: BusMessage[] = [];
            while (out.length < max && (retry.length > 0 || buffer.length > 0)) {
              const next = retry.shift() ?? buffer.shift()!;
              const deliveries = (counts.get(next.offset) ?? 0) + 1;
              const message = { ...next, deliveries };
              if (deliveries > maxDeliveries) {
                dead.push(message);
                continue;
              }
              counts.set(next.offset, deliveries);
              const { partition, offset } = parseOffset(next.offset);
              offsets.delivered(partition, BigInt(offset));
              out.push(message);
            }
            if (buffer.length < bufferSize) drained?.();
            await moveToDeadLetter(dead, `delivered ${maxDeliveries} times without acknowledgement`);
            const left = deadline - Date.now();
            if (out.length > 0 || left <= 0 || pollOptions.signal?.aborted) return out;
            await new Promise<void>((resolve) => {
              wake = resolve;
              void waitFor(left, pollOptions.signal).then(resolve);
            });
          }
        },
        ack: acknowledge,
        async extend() {
          // Deliveries never go idle on Kafka: a partition's messages stay with its owner until a rebalance.
        },
        async nack(messages) {
          for (const message of messages) {
            const { partition, offset } = parseOffset(message.offset);
            // A partition revoked since is redelivered by its new owner, not here.
            if (!offsets.released(partition, BigInt(offset))) continue;
            const { deliveries: _deliveries, ...rest } = message;
            retry.push(rest);
          }
        },
        async deadLetter(messages, reason) {
          await moveToDeadLetter(messages, reason);
        },
        async close() {
          if (!open) return;
          open = false;
          clearTimeout(rejoinTimer);
          consumers.delete(consumer);
          drained?.();
          offsets.close();
          await kafkaConsumer?.disconnect();
        },
      };
      consumers.add(consumer);
      return consumer;
    },
  };
  return bus;
}
