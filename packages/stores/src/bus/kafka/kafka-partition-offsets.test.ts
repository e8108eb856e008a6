import { SlateError } from '@slate/graph';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafkaPartitionOffsets, isRebalanceError } from './kafka-partition-offsets.ts';

const { KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

/** The error kafkajs's consumer.commitOffsets throws when the broker refuses a commit with `type`. */
function refused(type: string): Error {
  const cause = new KafkaJSProtocolError({ type, message: type, retriable: false } as never);
  // kafkajs's retrier wraps it this way (its typings omit the options argument).
  const Wrapper = KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error;
  return new Wrapper(cause, { cause });
}

/**
 * A broker's side of the commits: the group's committed offset per partition and its generation, with a
 * switch that refuses commits from the member's generation once the group has moved on (as the broker does
 * between a rebalance starting and this member's next join).
 */
function group() {
  const committed = new Map<number, bigint>();
  const state = { rebalancing: false, attempts: 0 };
  return {
    committed,
    state,
    commit: async (partition: number, offset: bigint) => {
      state.attempts++;
      if (state.rebalancing) throw refused('ILLEGAL_GENERATION');
      committed.set(partition, offset);
    },
  };
}

const at = (partition: number, offset: number) => ({ partition, offset: BigInt(offset) });

describe('createKafkaPartitionOffsets', () => {
  it('recognises the rebalance refusals kafkajs wraps, and nothing else', () => {
    expect(isRebalanceError(refused('ILLEGAL_GENERATION'))).toBe(true);
    expect(isRebalanceError(refused('REBALANCE_IN_PROGRESS'))).toBe(true);
    expect(isRebalanceError(refused('UNKNOWN_MEMBER_ID'))).toBe(true);
    expect(isRebalanceError(refused('OFFSET_METADATA_TOO_LARGE'))).toBe(false);
    expect(isRebalanceError(new Error('ILLEGAL_GENERATION'))).toBe(false);
  });

  it('commits the offset below which everything is acknowledged, never past a message in flight', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit });
    offsets.assign([0], 'm1');
    for (let o = 10; o < 15; o++) {
      expect(offsets.fetched(0, BigInt(o))).toBe(false);
      offsets.delivered(0, BigInt(o));
    }
    await offsets.acknowledge([at(0, 10), at(0, 11), at(0, 13)]);
    expect(broker.committed.get(0)).toBe(12n);
    await offsets.acknowledge([at(0, 14)]);
    expect(broker.committed.get(0)).toBe(12n);
    await offsets.acknowledge([at(0, 12)]);
    expect(broker.committed.get(0)).toBe(15n);
    // A re-fetched copy of anything committed or held is not delivered again.
    expect(offsets.fetched(0, 11n)).toBe(true);
  });

  it('sends a refused commit again after the rejoin when the partition is still ours', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit });
    offsets.assign([0, 1], 'm1');
    for (const p of [0, 1])
      for (let o = 0; o < 3; o++) {
        offsets.fetched(p, BigInt(o));
        offsets.delivered(p, BigInt(o));
      }
    broker.state.rebalancing = true;
    let settled = false;
    const ack = offsets.acknowledge([at(0, 0), at(0, 1), at(1, 0)]).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    expect(broker.committed.size).toBe(0);
    // The new generation: partition 0 stays with this member, partition 1 went to another.
    broker.state.rebalancing = false;
    offsets.assign([0], 'm1');
    await ack;
    expect(Object.fromEntries(broker.committed)).toEqual({ 0: 2n });
    // Partition 1's messages are its new owner's now: neither committed nor given back here.
    expect(offsets.released(1, 1n)).toBe(false);
    expect(offsets.owns(1)).toBe(false);
    // Partition 0's re-fetch (from the committed offset the failed commit left) skips what was acknowledged.
    expect(offsets.fetched(0, 0n)).toBe(true);
    expect(offsets.fetched(0, 2n)).toBe(true);
  });

  it('resolves an acknowledgement of a revoked partition without committing it', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit });
    offsets.assign([3], 'm1');
    offsets.fetched(3, 7n);
    offsets.delivered(3, 7n);
    offsets.assign([], 'm1');
    await offsets.acknowledge([at(3, 7)]);
    expect(broker.state.attempts).toBe(0);
  });

  it('starts afresh when the member was replaced (a generation went by without it)', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit });
    offsets.assign([0], 'm1');
    offsets.fetched(0, 0n);
    offsets.delivered(0, 0n);
    offsets.assign([0], 'm2');
    // Another member may have committed past it meanwhile: learnt again from the first fetched message.
    expect(offsets.fetched(0, 40n)).toBe(false);
    await offsets.acknowledge([at(0, 0)]);
    expect(broker.state.attempts).toBe(0);
    offsets.delivered(0, 40n);
    await offsets.acknowledge([at(0, 40)]);
    expect(broker.committed.get(0)).toBe(41n);
  });

  it('fails with KAFKA_REJOIN_TIMEOUT when no rejoin comes, and on other errors at once', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit, rejoinWaitMs: 100 });
    offsets.assign([0], 'm1');
    offsets.fetched(0, 0n);
    offsets.delivered(0, 0n);
    broker.state.rebalancing = true;
    const error = await offsets.acknowledge([at(0, 0)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlateError);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'KAFKA_REJOIN_TIMEOUT' });

    const failing = createKafkaPartitionOffsets({
      commit: async () => {
        throw refused('OFFSET_METADATA_TOO_LARGE');
      },
    });
    failing.assign([0], 'm1');
    failing.fetched(0, 0n);
    await expect(failing.acknowledge([at(0, 0)])).rejects.toThrow('OFFSET_METADATA_TOO_LARGE');
  });

  it('resolves pending acknowledgements when the consumer closes', async () => {
    const broker = group();
    const offsets = createKafkaPartitionOffsets({ commit: broker.commit });
    offsets.assign([0], 'm1');
    offsets.fetched(0, 0n);
    broker.state.rebalancing = true;
    const ack = offsets.acknowledge([at(0, 0)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    offsets.close();
    await ack;
    expect(broker.committed.size).toBe(0);
  });
});
