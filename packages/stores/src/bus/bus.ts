/**
 * The message bus: durable, ordered topics read by consumer groups, as the background-persistence writers
 * and stream consumers use it (the result bus, the usage bus, dead-letter topics).
 *
 * Semantics every backend shares (checked by `runBusConformance` from `@slate/stores/conformance`):
 * - **Ordering per key.** Messages with the same key are delivered to a consumer in publish order on their
 *   first delivery. A message given back (`nack`, a crash, an idle claim) is redelivered later, possibly
 *   after newer messages of its key: consumers that care deduplicate and compare by `id`/`offset`.
 * - **Consumer groups.** Every group sees every message; within a group each message goes to one consumer
 *   at a time.
 * - **At least once.** A message is delivered again until a consumer of its group acknowledges it: after
 *   that consumer closes (or its process dies) and a consumer of the same group and `name` polls again, or,
 *   where `capabilities.redeliversIdle`, once it has been unacknowledged for `redeliverAfterMs`.
 * - **Replay.** `seek` moves a group back (or forward) to an offset; the group's next polls deliver from
 *   there, acknowledged or not.
 * - **Dead letters.** A message about to be delivered more than `maxDeliveries` times, or passed to
 *   `deadLetter`, is published to `deadLetterTopic(topic)` (same key, value and id; the reason in the
 *   `slate-dead-letter-reason` header) and acknowledged.
 * - Invalid topic or group names throw `SlateError` of kind `input` (`INVALID_TOPIC`); calls on a closed
 *   bus throw kind `unavailable` (`BUS_CLOSED`).
 */
export interface Bus {
  readonly capabilities: BusCapabilities;
  init(): Promise<void>;
  /** Closes the bus and every consumer it created; unacknowledged messages stay deliverable. */
  close(): Promise<void>;
  /**
   * Appends messages to a topic (created on first use), in order; resolves once they are durable, with
   * their offsets. Offsets are strings whose meaning depends on the backend (a number for the embedded
   * log, a stream id for Redis, `partition:offset` for Kafka); pass them back to `seek` unchanged.
   */
  publish(topic: string, messages: readonly OutgoingMessage[], signal?: AbortSignal): Promise<string[]>;
  /** A consumer in a group; the group is created at `from` (default `'earliest'`) when new. */
  consumer(options: ConsumerOptions): BusConsumer;
  /** Moves a group so that its next polls deliver from `offset` (inclusive) on; forgets pending deliveries. */
  seek(topic: string, group: string, offset: string): Promise<void>;
}

/** What a backend offers beyond the contract. */
export interface BusCapabilities {
  /** Messages and group positions survive a restart of the process. */
  readonly persistent: boolean;
  /** Several processes can publish and consume the same topics. */
  readonly shared: boolean;
  /** Messages left unacknowledged for `redeliverAfterMs` go to another consumer of the group. */
  readonly redeliversIdle: boolean;
}

/** A message to publish. */
export interface OutgoingMessage {
  /** Ordering (and partitioning) key. */
  readonly key: string;
  readonly value: string;
  /** A stable id for idempotent consumers; default a random UUID. */
  readonly id?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A delivered message. */
export interface BusMessage {
  readonly topic: string;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  readonly id: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch milliseconds when it was published. */
  readonly publishedAt: number;
  /** How many times it has been delivered to its group, this delivery included (1 the first time). */
  readonly deliveries: number;
}

export interface ConsumerOptions {
  readonly topic: string;
  readonly group: string;
  /**
   * The consumer's name within its group (default a random one). A consumer restarted under the same name
   * receives what it had been given and not acknowledged before.
   */
  readonly name?: string;
  /** Where a new group starts: the first message kept, or the next one published. Default `'earliest'`. */
  readonly from?: 'earliest' | 'latest';
  /** Deliveries after which a message is dead-lettered instead of delivered again. Default 5. */
  readonly maxDeliveries?: number;
  /** Where `capabilities.redeliversIdle`: how long a delivery may stay unacknowledged. Default 30 s. */
  readonly redeliverAfterMs?: number;
}

export interface PollOptions {
  /** Most messages returned. Default 100. */
  readonly max?: number;
  /** How long to wait for a message when none is ready. Default 0 (return at once). */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

/** One member of a consumer group. Not safe for concurrent `poll` calls. */
export interface BusConsumer {
  readonly topic: string;
  readonly group: string;
  readonly name: string;
  /** The next messages for this consumer: redeliveries first, then new messages in offset order. */
  poll(options?: PollOptions): Promise<BusMessage[]>;
  /** Acknowledges messages: they are never delivered to this group again (unless `seek` rewinds it). */
  ack(messages: readonly BusMessage[]): Promise<void>;
  /**
   * Says this consumer is still working on messages it was given and has not acknowledged: where
   * `capabilities.redeliversIdle`, their idle time starts again, so no other consumer of the group claims
   * them while a slow batch is being written (which would write it twice at once). Messages no longer
   * held by this consumer (already claimed by another, or acknowledged) are left alone. A no-op where
   * deliveries never go idle (Kafka). Safe to call while a `poll` is waiting.
   */
  extend(messages: readonly BusMessage[]): Promise<void>;
  /** Gives messages back for redelivery on a later poll (dead-lettered past `maxDeliveries`). */
  nack(messages: readonly BusMessage[]): Promise<void>;
  /** Moves messages to the dead-letter topic now, with a reason, and acknowledges them. */
  deadLetter(messages: readonly BusMessage[], reason: string): Promise<void>;
  /** Stops consuming; messages given to this consumer and not acknowledged become deliverable again. */
  close(): Promise<void>;
}

/** The topic a topic's dead letters go to. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** Header naming why a message was dead-lettered. */
export const DEAD_LETTER_REASON_HEADER = 'slate-dead-letter-reason';
/** Header giving a dead-lettered message's offset in its original topic. */
export const DEAD_LETTER_OFFSET_HEADER = 'slate-dead-letter-offset';
