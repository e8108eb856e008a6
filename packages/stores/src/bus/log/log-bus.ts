import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlateError } from '@slate/graph';
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
import { DEFAULT_INDEXED_SEGMENTS, type LogRecord, LogTopic } from './log-topic.ts';

/** Options for `createLogBus`. */
export interface LogBusOptions {
  /** The folder holding one sub-folder per topic; created if missing. */
  readonly root: string;
  /** A segment file is closed for appends past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** `fdatasync` every append and group commit, so a power loss loses nothing acknowledged. Default true. */
  readonly sync?: boolean;
  /**
   * Sealed segments per topic whose record positions stay in memory (the most recently read); reading
   * another rescans its file. Default 2.
   */
  readonly indexedSegments?: number;
  readonly now?: () => number;
}

interface Group {
  readonly file: string;
  /** Every offset below it is acknowledged. */
  committed: number;
  /** Acknowledged offsets at or above `committed`. */
  readonly acked: Set<number>;
  /** The next offset never delivered to this group. */
  cursor: number;
  /** Delivered and not yet acknowledged: who holds it and since when. */
  readonly pending: Map<number, { consumer: string; at: number }>;
  /** Deliveries so far of offsets not yet acknowledged. */
  readonly deliveries: Map<number, number>;
  /** Offsets given back, to deliver before new ones. */
  readonly retry: number[];
  saving: Promise<void>;
}

/**
 * The embedded bus: a durable log in a local folder, for a single process (the embedded default of
 * `slate up`). Each topic is a folder of append-only segment files (see `LogTopic`); each consumer group's
 * position is a small JSON file (`groups/<group>.json`: the offset below which everything is acknowledged,
 * plus the acknowledged offsets above it), replaced atomically on every `ack`. After a restart a group
 * resumes from its file: everything not acknowledged is delivered again, whatever the consumer's name.
 *
 * Retention: a sealed segment is deleted once every group of its topic (every `groups/*.json`, loaded in
 * this process or not) has acknowledged all its records; a topic no group reads (a dead-letter topic) keeps
 * its segments. A group created after that starts at the oldest record still stored.
 *
 * Memory: record positions are held for each topic's newest segment and its `indexedSegments` most
 * recently read sealed ones (see `LogTopic`), and per group only what is delivered and unacknowledged.
 *
 * Limits: one process per folder (`capabilities.shared` is false); delivery counts live in memory, so a
 * restart resets them.
 *
 * @example
 * const bus = createLogBus({ root: '.slate/bus' });
 * await bus.init();
 * await bus.publish('result-bus', [{ key: 'user:1', value: JSON.stringify(values) }]);
 * const consumer = bus.consumer({ topic: 'result-bus', group: 'offline-writer' });
 * const messages = await consumer.poll({ max: 500, waitMs: 1_000 });
 * await consumer.ack(messages);
 */
export function createLogBus(options: LogBusOptions): Bus {
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  const indexedSegments = options.indexedSegments ?? DEFAULT_INDEXED_SEGMENTS;
  const sync = options.sync ?? true;
  const now = options.now ?? Date.now;
  const topics = new Map<string, Promise<LogTopic>>();
  const groups = new Map<string, Promise<Group>>();
  const waiters = new Map<string, Set<() => void>>();
  const consumers = new Set<BusConsumer>();
  let closed = false;

  const alive = () => {
    if (closed) throw busClosed();
  };
  const topicOf = (name: string) => {
    let topic = topics.get(name);
    if (!topic) {
      topic = LogTopic.open(join(options.root, name), segmentBytes, sync, indexedSegments);
      topics.set(name, topic);
    }
    return topic;
  };
  const notify = (topic: string) => {
    for (const wake of waiters.get(topic) ?? []) wake();
  };
  const wait = (topic: string, ms: number, signal?: AbortSignal) => {
    const set = waiters.get(topic) ?? new Set();
    waiters.set(topic, set);
    const controller = new AbortController();
    const wake = () => controller.abort();
    set.add(wake);
    signal?.addEventListener('abort', wake, { once: true });
    return waitFor(ms, controller.signal).finally(() => {
      set.delete(wake);
      signal?.removeEventListener('abort', wake);
    });
  };

  const groupOf = (topic: string, name: string, from: 'earliest' | 'latest') => {
    const id = `${topic}\u0000${name}`;
    let group = groups.get(id);
    if (!group) {
      group = (async () => {
        const log = await topicOf(topic);
        const file = join(options.root, topic, 'groups', `${name}.json`);
        const saved = await readFile(file, 'utf8').then(
          (text) => JSON.parse(text) as { committed: number; acked: number[] },
          () => null,
        );
        const committed = saved?.committed ?? (from === 'latest' ? log.count : 0);
        const state: Group = {
          file,
          committed,
          acked: new Set(saved?.acked ?? []),
          cursor: committed,
          pending: new Map(),
          deliveries: new Map(),
          retry: [],
          saving: Promise.resolve(),
        };
        if (!saved) await save(state);
        return state;
      })();
      groups.set(id, group);
    }
    return group;
  };

  const save = (group: Group): Promise<void> => {
    const write = async () => {
      await mkdir(join(group.file, '..'), { recursive: true });
      const temp = `${group.file}.${randomUUID()}.tmp`;
      await writeFile(
        temp,
        JSON.stringify({ committed: group.committed, acked: [...group.acked].sort((a, b) => a - b) }),
        { flush: sync },
      );
      await rename(temp, group.file);
    };
    group.saving = group.saving.then(write, write);
    return group.saving;
  };

  const publish = async (topic: string, messages: readonly OutgoingMessage[]) => {
    const log = await topicOf(topic);
    const publishedAt = now();
    const offsets = await log.append(
      messages.map((message) => ({
        id: message.id ?? randomUUID(),
        key: message.key,
        value: message.value,
        headers: { ...(message.headers ?? {}) },
        publishedAt,
      })),
    );
    notify(topic);
    return offsets.map(String);
  };

  /** Topics whose retention pass is running (one at a time per topic). */
  const retiring = new Set<string>();
  /**
   * Deletes the topic's sealed segments that every group has acknowledged. Groups are read from their
   * files, so a group no consumer of this process has opened still holds its records.
   */
  const retire = async (topic: string) => {
    if (retiring.has(topic)) return;
    retiring.add(topic);
    try {
      const log = await topicOf(topic);
      const names = (await readdir(join(options.root, topic, 'groups')).catch(() => [] as string[]))
        .filter((name) => name.endsWith('.json'))
        .map((name) => name.slice(0, -'.json'.length));
      if (names.length === 0) return;
      let low = Number.POSITIVE_INFINITY;
      for (const name of names) {
        const loaded = groups.get(`${topic}\u0000${name}`);
        const committed = loaded
          ? (await loaded).committed
          : await readFile(join(options.root, topic, 'groups', `${name}.json`), 'utf8').then(
              (text) => (JSON.parse(text) as { committed: number }).committed,
              () => 0,
            );
        low = Math.min(low, committed);
      }
      await log.retire(low);
    } finally {
      retiring.delete(topic);
    }
  };

  const acknowledge = async (group: Group, offsets: readonly number[], topic: string) => {
    for (const offset of offsets) {
      group.pending.delete(offset);
      group.deliveries.delete(offset);
      if (offset >= group.committed) group.acked.add(offset);
    }
    while (group.acked.delete(group.committed)) group.committed++;
    await save(group);
    if ((await topicOf(topic)).retirable(group.committed)) await retire(topic);
  };

  const toMessage = (topic: string, record: LogRecord, deliveries: number): BusMessage => ({
    topic,
    offset: String(record.offset),
    key: record.key,
    value: record.value,
    id: record.id,
    headers: record.headers,
    publishedAt: record.publishedAt,
    deliveries,
  });

  const bus: Bus = {
    capabilities: { persistent: true, shared: false, redeliversIdle: true },
    async init() {
      await mkdir(options.root, { recursive: true });
    },
    async close() {
      if (closed) return;
      await Promise.all([...consumers].map((consumer) => consumer.close()));
      closed = true;
      for (const set of waiters.values()) for (const wake of set) wake();
      await Promise.all([...groups.values()].map(async (group) => (await group).saving));
      await Promise.all([...topics.values()].map(async (topic) => (await topic).close()));
    },
    async publish(topic, messages, signal) {
      alive();
      checkBusName(topic, 'topic');
      checkMessages(messages);
      signal?.throwIfAborted();
      return publish(topic, messages);
    },
    async seek(topic, groupName, offset) {
      alive();
      checkBusName(topic, 'topic');
      checkBusName(groupName, 'group');
      const at = Number(offset);
      if (!Number.isInteger(at) || at < 0)
        throw new SlateError('input', 'INVALID_OFFSET', `invalid offset ${JSON.stringify(offset)}`);
      const group = await groupOf(topic, groupName, 'earliest');
      group.committed = at;
      group.cursor = at;
      group.acked.clear();
      group.pending.clear();
      group.deliveries.clear();
      group.retry.length = 0;
      await save(group);
      notify(topic);
    },
    consumer(consumerOptions: ConsumerOptions): BusConsumer {
      alive();
      const { topic } = consumerOptions;
      checkBusName(topic, 'topic');
      checkBusName(consumerOptions.group, 'group');
      const name = consumerOptions.name ?? randomUUID();
      checkBusName(name, 'consumer');
      const maxDeliveries = consumerOptions.maxDeliveries ?? 5;
      const redeliverAfterMs = consumerOptions.redeliverAfterMs ?? 30_000;
      const group = () => groupOf(topic, consumerOptions.group, consumerOptions.from ?? 'earliest');
      let open = true;

      const giveBack = (state: Group, offsets: Iterable<number>) => {
        for (const offset of offsets) {
          if (!state.pending.delete(offset)) continue;
          state.retry.push(offset);
        }
        state.retry.sort((a, b) => a - b);
        notify(topic);
      };

      const deadLetter = async (state: Group, records: readonly LogRecord[], reason: string) => {
        if (records.length === 0) return;
        await publish(
          deadLetterTopic(topic),
          records.map((record) => ({
            key: record.key,
            value: record.value,
            id: record.id,
            headers: {
              ...record.headers,
              [DEAD_LETTER_REASON_HEADER]: reason,
              [DEAD_LETTER_OFFSET_HEADER]: String(record.offset),
            },
          })),
        );
        await acknowledge(
          state,
          records.map((record) => record.offset),
          topic,
        );
      };

      const take = async (state: Group, max: number): Promise<BusMessage[]> => {
        const log = await topicOf(topic);
        const clock = now();
        const expired = [...state.pending]
          .filter(([, p]) => clock - p.at >= redeliverAfterMs)
          .map(([o]) => o);
        if (expired.length > 0) giveBack(state, expired);
        const chosen: LogRecord[] = [];
        // Retired records were acknowledged by every group (or predate this group's creation).
        if (state.cursor < log.start) state.cursor = log.start;
        while (chosen.length < max && state.retry.length > 0) {
          const offset = state.retry.shift()!;
          if (offset < state.committed || state.acked.has(offset) || state.pending.has(offset)) continue;
          chosen.push(...(await log.read(offset, 1)));
        }
        while (chosen.length < max && state.cursor < log.count) {
          const records = await log.read(state.cursor, max - chosen.length);
          state.cursor += records.length;
          for (const record of records) {
            if (!state.acked.has(record.offset) && !state.pending.has(record.offset)) chosen.push(record);
          }
        }
        const out: BusMessage[] = [];
        const dead: LogRecord[] = [];
        for (const record of chosen) {
          const deliveries = (state.deliveries.get(record.offset) ?? 0) + 1;
          if (deliveries > maxDeliveries) {
            dead.push(record);
            continue;
          }
          state.deliveries.set(record.offset, deliveries);
          state.pending.set(record.offset, { consumer: name, at: clock });
          out.push(toMessage(topic, record, deliveries));
        }
        await deadLetter(state, dead, `delivered ${maxDeliveries} times without acknowledgement`);
        return out;
      };

      const consumer: BusConsumer = {
        topic,
        group: consumerOptions.group,
        name,
        async poll(pollOptions: PollOptions = {}) {
          if (!open) throw busClosed();
          const max = pollOptions.max ?? 100;
          const deadline = now() + (pollOptions.waitMs ?? 0);
          const state = await group();
          for (;;) {
            const messages = await take(state, max);
            const left = deadline - now();
            if (messages.length > 0 || left <= 0 || !open || pollOptions.signal?.aborted) return messages;
            await wait(topic, Math.min(left, redeliverAfterMs), pollOptions.signal);
          }
        },
        async ack(messages) {
          const state = await group();
          await acknowledge(
            state,
            messages.map((message) => Number(message.offset)),
            topic,
          );
        },
        async extend(messages) {
          const state = await group();
          const clock = now();
          for (const message of messages) {
            const pending = state.pending.get(Number(message.offset));
            if (pending?.consumer === name) pending.at = clock;
          }
        },
        async nack(messages) {
          const state = await group();
          giveBack(
            state,
            messages.map((message) => Number(message.offset)),
          );
        },
        async deadLetter(messages, reason) {
          const state = await group();
          const log = await topicOf(topic);
          const records = (
            await Promise.all(messages.map((message) => log.read(Number(message.offset), 1)))
          ).flat();
          await deadLetter(state, records, reason);
        },
        async close() {
          if (!open) return;
          open = false;
          consumers.delete(consumer);
          const state = await group();
          giveBack(
            state,
            [...state.pending].filter(([, p]) => p.consumer === name).map(([offset]) => offset),
          );
        },
      };
      consumers.add(consumer);
      return consumer;
    },
  };
  return bus;
}
