import { randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import { Redis } from 'ioredis';
import { abortable } from '../../abortable.ts';
import {
  type Bus,
  type BusConsumer,
  type BusMessage,
  type ConsumerOptions,
  DEAD_LETTER_OFFSET_HEADER,
  DEAD_LETTER_REASON_HEADER,
  deadLetterTopic,
  type PollOptions,
} from '../bus.ts';
import { busClosed, checkBusName, checkMessages } from '../bus-input.ts';

/** Options for `createRedisBus`. */
export interface RedisBusOptions {
  /** A `redis://` URL; the bus opens one connection for publishing and one per consumer (blocking reads). */
  readonly url: string;
  /** The first segment of every stream key (`<keyPrefix>:bus:<topic>`). Default `'slate'`. */
  readonly keyPrefix?: string;
  /** Approximate cap on each stream's length (`XADD MAXLEN ~`); default unbounded. */
  readonly maxLength?: number;
  /**
   * A consumer name of a group that holds no pending entries and has not read for this long is deleted
   * (`XGROUP DELCONSUMER`), when a consumer of the group first polls and then every `idleConsumerMs`.
   * Default 10 minutes. Deleting a live one is harmless: its next read re-creates it.
   */
  readonly idleConsumerMs?: number;
}

type StreamEntry = [id: string, fields: string[]];

/**
 * `release`: KEYS[1] the stream; ARGV group, consumer. Deletes the consumer only while it holds no pending
 * entries (deleting one that does would drop them from the pending list: never redelivered). Atomic.
 */
const RELEASE_SCRIPT = `
local held = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #held == 0 then return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2]) end
return -1`;

/**
 * `prune`: KEYS[1] the stream; ARGV group, idle ms. Deletes the group's consumers that hold no pending
 * entries and have been idle at least that long; returns how many. Atomic, so none acquires entries midway.
 */
const PRUNE_SCRIPT = `
local pruned = 0
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if tonumber(info['pending']) == 0 and tonumber(info['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    pruned = pruned + 1
  end
end
return pruned`;

/** `extend`: KEYS[1] the stream; ARGV group, consumer, then entry ids. */
const EXTEND_SCRIPT = `
for i = 3, #ARGV do
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #held > 0 then redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID') end
end
return 0`;

/**
 * A `Bus` on Redis Streams: one stream per topic, consumer groups as Redis consumer groups. Publishing is
 * one pipelined `XADD` per message; a consumer reads with `XREADGROUP` (blocking on its own connection),
 * acknowledges with `XACK`, claims idle deliveries of other consumers with `XAUTOCLAIM` and retries nacked
 * ones with `XCLAIM`; delivery counts come from the pending-entries list. On its first poll a consumer
 * re-reads its own pending entries, so a worker restarted under the same name gets back what it held.
 * Offsets are stream ids (`<ms>-<seq>`). Dead-lettering is an `XADD` to the dead-letter stream and an
 * `XACK` in one `MULTI`.
 *
 * Consumer names are bounded: Redis keeps every name that ever read in the group (a replica restarted
 * under a new instance id, a consumer with a random name) until it is deleted. A consumer that closes
 * holding nothing deletes its name; a consumer that polls deletes the names that hold nothing and have
 * been idle for `idleConsumerMs` (a crashed process's, once its entries were claimed), when it first polls
 * and then every `idleConsumerMs`. So a group holds its live consumers, those holding pending entries, and
 * those that stopped within the last `idleConsumerMs`.
 *
 * @example
 * const bus = createRedisBus({ url: 'redis://127.0.0.1:6379' });
 * await bus.init();
 * await bus.publish('result-bus', [{ key: 'user:1', value: '{}' }]);
 */
export function createRedisBus(options: RedisBusOptions): Bus {
  const prefix = options.keyPrefix ?? 'slate';
  const streamKey = (topic: string) => `${prefix}:bus:${topic}`;
  const client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  // A connection error surfaces on the commands it fails; without a listener ioredis would also print every
  // reconnect attempt to stderr ("Unhandled error event"), flooding a persistence process's log while Redis restarts.
  client.on('error', () => undefined);
  const consumers = new Set<BusConsumer>();
  let closed = false;
  const alive = () => {
    if (closed) throw busClosed();
  };

  const fieldsOf = (message: { id: string; key: string; value: string; headers: Record<string, string> }) => [
    'i',
    message.id,
    'k',
    message.key,
    'v',
    message.value,
    't',
    String(Date.now()),
    'h',
    JSON.stringify(message.headers),
  ];
  const maxLen = options.maxLength ? (['MAXLEN', '~', String(options.maxLength)] as const) : [];

  const toMessage = (topic: string, [id, fields]: StreamEntry, deliveries: number): BusMessage => {
    const get = (name: string) => {
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
      return '';
    };
    return {
      topic,
      offset: id,
      id: get('i'),
      key: get('k'),
      value: get('v'),
      publishedAt: Number(get('t')),
      headers: JSON.parse(get('h') || '{}') as Record<string, string>,
      deliveries,
    };
  };

  const ensureGroup = async (topic: string, group: string, from: 'earliest' | 'latest') => {
    try {
      await client.xgroup('CREATE', streamKey(topic), group, from === 'latest' ? '$' : '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  };

  /** The id just before `id`, so that `XGROUP SETID` makes `id` the next one delivered. */
  const previousId = (id: string) => {
    const match = /^(\d+)-(\d+)$/.exec(id);
    if (!match) throw new SlateError('input', 'INVALID_OFFSET', `invalid stream id ${JSON.stringify(id)}`);
    const ms = BigInt(match[1]!);
    const seq = BigInt(match[2]!);
    if (seq > 0n) return `${ms}-${seq - 1n}`;
    return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0';
  };

  const bus: Bus = {
    capabilities: { persistent: true, shared: true, redeliversIdle: true },
    async init() {
      if (client.status === 'wait') await client.connect();
    },
    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.close()));
      closed = true;
      await client.quit().catch(() => client.disconnect());
    },
    async publish(topic, messages, signal) {
      alive();
      checkBusName(topic, 'topic');
      checkMessages(messages);
      const pipeline = client.pipeline();
      for (const message of messages) {
        pipeline.xadd(
          streamKey(topic),
          ...maxLen,
          '*',
          ...fieldsOf({
            id: message.id ?? randomUUID(),
            key: message.key,
            value: message.value,
            headers: { ...(message.headers ?? {}) },
          }),
        );
      }
      const results = (await abortable(pipeline.exec(), signal)) ?? [];
      return results.map(([error, id]) => {
        if (error) throw error;
        return id as string;
      });
    },
    async seek(topic, group, offset) {
      alive();
      checkBusName(topic, 'topic');
      checkBusName(group, 'group');
      const key = streamKey(topic);
      await client
        .multi()
        .xgroup('DESTROY', key, group)
        .xgroup('CREATE', key, group, previousId(offset), 'MKSTREAM')
        .exec();
    },
    consumer(consumerOptions: ConsumerOptions): BusConsumer {
      alive();
      const { topic, group } = consumerOptions;
      checkBusName(topic, 'topic');
      checkBusName(group, 'group');
      const name = consumerOptions.name ?? randomUUID();
      checkBusName(name, 'consumer');
      const key = streamKey(topic);
      const maxDeliveries = consumerOptions.maxDeliveries ?? 5;
      const redeliverAfterMs = consumerOptions.redeliverAfterMs ?? 30_000;
      const reader = client.duplicate();
      const idleConsumerMs = options.idleConsumerMs ?? 10 * 60_000;
      let prunedAt = Number.NEGATIVE_INFINITY;
      let ready: Promise<void> | undefined;
      let recovered = false;
      let open = true;
      const retry = new Set<string>();

      const deliveryCounts = async (ids: readonly string[]): Promise<Map<string, number>> => {
        const pipeline = client.pipeline();
        for (const id of ids) pipeline.xpending(key, group, id, id, 1);
        const results = (await pipeline.exec()) ?? [];
        const counts = new Map<string, number>();
        results.forEach(([, rows], i) => {
          const row = (rows as [string, string, number, number][])[0];
          if (row) counts.set(ids[i]!, Number(row[3]));
        });
        return counts;
      };

      const moveToDeadLetter = async (messages: readonly BusMessage[], reason: string) => {
        if (messages.length === 0) return;
        const multi = client.multi();
        for (const message of messages) {
          multi.xadd(
            streamKey(deadLetterTopic(topic)),
            '*',
            ...fieldsOf({
              id: message.id,
              key: message.key,
              value: message.value,
              headers: {
                ...message.headers,
                [DEAD_LETTER_REASON_HEADER]: reason,
                [DEAD_LETTER_OFFSET_HEADER]: message.offset,
              },
            }),
          );
          multi.xack(key, group, message.offset);
        }
        await multi.exec();
      };

      /** Entries delivered again (own pending after a restart, nacked, idle): counted, dead-lettered past the limit. */
      const redelivered = async (entries: StreamEntry[]): Promise<BusMessage[]> => {
        const live = entries.filter((entry) => entry[1] !== null);
        if (live.length === 0) return [];
        const counts = await deliveryCounts(live.map(([id]) => id));
        const messages = live.map((entry) => toMessage(topic, entry, counts.get(entry[0]) ?? 1));
        const over = messages.filter((m) => m.deliveries > maxDeliveries);
        await moveToDeadLetter(over, `delivered ${maxDeliveries} times without acknowledgement`);
        return messages.filter((m) => m.deliveries <= maxDeliveries);
      };

      const take = async (max: number, blockMs: number): Promise<BusMessage[]> => {
        const out: BusMessage[] = [];
        if (!recovered) {
          recovered = true;
          const own = (await reader.xreadgroup('GROUP', group, name, 'COUNT', max, 'STREAMS', key, '0')) as
            | [string, StreamEntry[]][]
            | null;
          const entries = own?.[0]?.[1] ?? [];
          // Reading one's own pending entries counts as a delivery (Redis bumps the count).
          out.push(...(await redelivered(entries)));
        }
        if (retry.size > 0 && out.length < max) {
          const ids = [...retry].slice(0, max - out.length);
          for (const id of ids) retry.delete(id);
          const claimed = (await client.xclaim(key, group, name, 0, ...ids)) as StreamEntry[];
          out.push(...(await redelivered(claimed)));
        }
        if (out.length < max) {
          const [, idle] = (await client.xautoclaim(
            key,
            group,
            name,
            redeliverAfterMs,
            '0-0',
            'COUNT',
            max - out.length,
          )) as [string, StreamEntry[]];
          out.push(...(await redelivered(idle)));
        }
        if (out.length < max) {
          const args: (string | number)[] = ['GROUP', group, name, 'COUNT', max - out.length];
          if (out.length === 0 && blockMs > 0) args.push('BLOCK', blockMs);
          const fresh = (await (reader.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(
            ...args,
            'STREAMS',
            key,
            '>',
          )) as [string, StreamEntry[]][] | null;
          for (const entry of fresh?.[0]?.[1] ?? []) out.push(toMessage(topic, entry, 1));
        }
        return out;
      };

      const consumer: BusConsumer = {
        topic,
        group,
        name,
        async poll(pollOptions: PollOptions = {}) {
          if (!open) throw busClosed();
          ready ??= (async () => {
            await reader.connect();
            await ensureGroup(topic, group, consumerOptions.from ?? 'earliest');
          })();
          await ready;
          pollOptions.signal?.throwIfAborted();
          if (Date.now() - prunedAt >= idleConsumerMs) {
            prunedAt = Date.now();
            await client.eval(PRUNE_SCRIPT, 1, key, group, idleConsumerMs);
          }
          return take(pollOptions.max ?? 100, pollOptions.waitMs ?? 0);
        },
        async ack(messages) {
          if (messages.length > 0) await client.xack(key, group, ...messages.map((m) => m.offset));
        },
        async extend(messages) {
          if (messages.length === 0) return;
          // Atomically, per entry: re-claim it (JUSTID: the delivery count stays) only while this consumer
          // still holds it, which resets its idle time; an entry another consumer took stays theirs.
          await client.eval(EXTEND_SCRIPT, 1, key, group, name, ...messages.map((m) => m.offset));
        },
        async nack(messages) {
          for (const message of messages) retry.add(message.offset);
        },
        async deadLetter(messages, reason) {
          await moveToDeadLetter(messages, reason);
        },
        async close() {
          if (!open) return;
          open = false;
          consumers.delete(consumer);
          // Nacked entries stay in this consumer's pending list: a restart under the same name, or an
          // idle claim by another consumer, delivers them again.
          reader.disconnect();
          // Holding nothing, the name is released (a group would otherwise keep every name ever used).
          if (ready && !closed) await client.eval(RELEASE_SCRIPT, 1, key, group, name).catch(() => undefined);
        },
      };
      consumers.add(consumer);
      return consumer;
    },
  };
  return bus;
}
