import { SlateError } from '@slate/graph';

/** Kafka error types that mean "the group moved on": rejoin, then see what is still ours. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * True when kafkajs failed because the group is rebalancing or has moved to a newer generation (its
 * retrier wraps the broker's error as the `cause` of one of its own).
 */
export function isRebalanceError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && REBALANCE_ERRORS.has(type)) return true;
  }
  return false;
}

/** One partition's consumption state while this member owns it. */
interface PartitionState {
  /**
   * The group's committed offset as this member knows it: learnt from the first message fetched after the
   * partition was assigned (kafkajs fetches an assigned partition from its committed offset), then moved
   * on by this member's own successful commits. Undefined until that first message.
   */
  base: bigint | undefined;
  /** Delivered to the caller and not yet acknowledged or given back. */
  readonly inFlight: Set<bigint>;
  /** Acknowledged at or above `base`, not yet covered by a commit. */
  readonly acked: Set<bigint>;
}

export interface KafkaPartitionOffsetsOptions {
  /** Commits `offset` (the next one to read) for `partition` under the consumer's current generation. */
  readonly commit: (partition: number, offset: bigint) => Promise<void>;
  /** How long an acknowledgement waits for this member to rejoin after a rebalance. Default 60 s. */
  readonly rejoinWaitMs?: number;
}

/**
 * What a Kafka consumer of the bus has delivered, acknowledged and committed, per partition, across the
 * group's rebalances. The contract it implements (see `createKafkaBus` and ADR 0001's bus section):
 *
 * - A commit is only ever sent for the offset below which every message of the partition is acknowledged,
 *   one commit at a time per consumer, so the group's offset never moves back or past a message in flight.
 * - An acknowledgement resolves once that commit is durable, or once the partition is found revoked by a
 *   rebalance (the new owner restarts from the group's committed offset: at least once, redelivered).
 * - A commit refused because the group is rebalancing (`REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`,
 *   `UNKNOWN_MEMBER_ID`) is not a failure: it waits for this member's next join and is sent again under
 *   the new generation if the partition is still assigned, or dropped if not. Nothing acknowledged is
 *   forgotten before a commit covers it. Only a join that does not come within `rejoinWaitMs`, or another
 *   error, rejects (`SlateError` `unavailable` `KAFKA_REJOIN_TIMEOUT`, or kafkajs's error).
 * - A partition kept across a join by the same member (same member id: no generation without it) keeps
 *   its state; one newly assigned, or every one after the member was replaced, starts afresh.
 *
 * Memory: per owned partition, the offsets the caller holds and the acknowledged ones above the commit —
 * bounded by the consumer's buffer and what the caller has polled.
 */
export interface KafkaPartitionOffsets {
  /** A join completed: `partitions` are now this member's (`memberId` its id in the group). */
  assign(partitions: readonly number[], memberId: string): void;
  /** A message fetched from an owned partition; true when it must not be delivered again. */
  fetched(partition: number, offset: bigint): boolean;
  /** Whether the partition is this member's in the latest join. */
  owns(partition: number): boolean;
  /** The caller now holds this message. */
  delivered(partition: number, offset: bigint): void;
  /** The caller gave it back; false when its partition is no longer this member's (do not redeliver). */
  released(partition: number, offset: bigint): boolean;
  /** Acknowledges messages and commits what that makes contiguous (see the contract above). */
  acknowledge(messages: readonly { partition: number; offset: bigint }[]): Promise<void>;
  /** The consumer closed: pending acknowledgements resolve (the group redelivers what was not committed). */
  close(): void;
}

export function createKafkaPartitionOffsets(options: KafkaPartitionOffsetsOptions): KafkaPartitionOffsets {
  const rejoinWaitMs = options.rejoinWaitMs ?? 60_000;
  const partitions = new Map<number, PartitionState>();
  let memberId: string | undefined;
  /** Bumped on every join: a commit refused before the current join is retried at once. */
  let joins = 0;
  let closed = false;
  let waiters: (() => void)[] = [];
  /** Commits go one at a time, so a later (higher) offset is never overtaken by an earlier one. */
  let chain: Promise<unknown> = Promise.resolve();

  const notify = () => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };

  /** Resolves on the next join or close; rejects when none comes by `deadline`. */
  const nextJoin = (deadline: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          waiters = waiters.filter((w) => w !== wake);
          reject(
            new SlateError(
              'unavailable',
              'KAFKA_REJOIN_TIMEOUT',
              `the consumer group did not rejoin within ${rejoinWaitMs} ms to commit acknowledged offsets`,
            ),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.push(wake);
    });

  const fresh = (): PartitionState => ({ base: undefined, inFlight: new Set(), acked: new Set() });

  /** One commit attempt for `partition`, in the chain: what happened, for `flush` to act on. */
  const commitStep = (partition: number) => {
    const step = chain.then(async (): Promise<'done' | 'rejoin' | 'retry'> => {
      const state = partitions.get(partition);
      if (closed || !state || state.base === undefined) return 'done';
      let target = state.base;
      while (state.acked.has(target)) target++;
      if (target === state.base) return 'done';
      const join = joins;
      try {
        await options.commit(partition, target);
      } catch (error) {
        if (!isRebalanceError(error)) throw error;
        return join === joins ? 'rejoin' : 'retry';
      }
      // Still the same ownership (a revoke and re-assign would have replaced the state): move on.
      if (partitions.get(partition) === state) {
        for (let offset = state.base; offset < target; offset++) state.acked.delete(offset);
        state.base = target;
      }
      return 'done';
    });
    chain = step.catch(() => {});
    return step;
  };

  const flush = async (partition: number) => {
    const deadline = Date.now() + rejoinWaitMs;
    for (;;) {
      const outcome = await commitStep(partition);
      if (outcome === 'done') return;
      if (outcome === 'rejoin') await nextJoin(deadline);
    }
  };

  return {
    assign(assigned, member) {
      const keep = new Set(assigned);
      const replaced = memberId !== undefined && member !== memberId;
      memberId = member;
      for (const partition of [...partitions.keys()])
        if (replaced || !keep.has(partition)) partitions.delete(partition);
      for (const partition of keep) if (!partitions.has(partition)) partitions.set(partition, fresh());
      joins++;
      notify();
    },
    fetched(partition, offset) {
      const state = partitions.get(partition);
      if (!state) return true;
      if (state.base === undefined) {
        state.base = offset;
        // Acknowledged before this member learnt the committed offset, and already below it.
        for (const acked of state.acked) if (acked < offset) state.acked.delete(acked);
      }
      return offset < state.base || state.inFlight.has(offset) || state.acked.has(offset);
    },
    owns: (partition) => partitions.has(partition),
    delivered(partition, offset) {
      partitions.get(partition)?.inFlight.add(offset);
    },
    released(partition, offset) {
      const state = partitions.get(partition);
      state?.inFlight.delete(offset);
      return state !== undefined;
    },
    async acknowledge(messages) {
      const touched = new Set<number>();
      for (const { partition, offset } of messages) {
        const state = partitions.get(partition);
        // Revoked: the partition's new owner redelivers it from the group's committed offset.
        if (!state) continue;
        state.inFlight.delete(offset);
        if (state.base === undefined || offset >= state.base) state.acked.add(offset);
        touched.add(partition);
      }
      await Promise.all([...touched].map(flush));
    },
    close() {
      closed = true;
      partitions.clear();
      notify();
    },
  };
}
