import { createHash, randomUUID } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type { Bus, OfflineStore, OnlineStore } from '@slate/stores';
import type { FeatureWriter } from '../http/feature-writer.ts';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';

/**
 * A `FeatureWriter` that sends uploads and deletes through the result bus, so background persistence
 * writes them to the online and offline stores. `write` resolves once the bus holds the message (durable
 * on the bus, not yet in the stores) and, with `onlineStore`, once that store holds its online values too:
 * an upload is then readable as soon as it is answered (read-your-writes, as the seed product's synchronous
 * upload), while the offline store still gets it through the bus. The later persistence write of the same
 * entries is idempotent: the store keeps the newest `observedAt`, and on a tie the later write, which
 * carries the same value (docs/adr/0009). The bus is written first, so an acknowledged upload is always
 * durable. If the online store then fails, the upload is still acknowledged (it is on the bus, and
 * persistence brings it online once the store is back; refusing it would make the client send again what
 * is already stored) and `onOnlineWriteError` is told; reads fail meanwhile anyway. Deletes reach the online store only: the offline store is an
 * append-only history, so the offline target of a delete is skipped, as the online-only writer skips it.
 *
 * @throws SlateError `RESULT_BUS_UNAVAILABLE` (kind `unavailable`: 503 with `Retry-After: 1`) when the bus
 * refuses the message (for example Redis restarting): the upload was not acknowledged, so the client may
 * retry it. A `SlateError` from the bus and the signal's abort reason pass through unchanged.
 *
 * @example
 * const writer = createBusFeatureWriter(bus);
 * await writer.write('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now() }], { online: true, offline: true });
 */
export function createBusFeatureWriter(
  bus: Bus,
  options: {
    topic?: string;
    /** Written before answering (online targets only), besides the bus: read-your-writes. */
    onlineStore?: OnlineStore;
    /** An online-store write that failed after the bus took the upload (which was acknowledged anyway). */
    onOnlineWriteError?: (error: unknown) => void;
    /**
     * Dropped from directly too, besides the bus (the same instance as background persistence's, so the
     * drop waits for its writes and merges in progress): a drop's answer then means the values are gone.
     */
    offlineStore?: OfflineStore;
  } = {},
): FeatureWriter {
  const topic = options.topic ?? RESULT_BUS_TOPIC;
  const online = options.onlineStore;
  const writeOnline = async (write: (store: OnlineStore) => Promise<void>) => {
    if (!online) return;
    try {
      await write(online);
    } catch (error) {
      options.onOnlineWriteError?.(error);
    }
  };
  const publish = async (message: ResultMessageInput, signal?: AbortSignal) => {
    try {
      await bus.publish(
        topic,
        [{ key: message.environment, value: JSON.stringify(message), id: message.operationId }],
        signal,
      );
    } catch (error) {
      // A connection error from the bus's client would otherwise reach the edge as a 500, which tells an
      // uploader nothing; the upload is not on the bus, so retrying it is what the caller should do.
      if (error instanceof SlateError || signal?.aborted) throw error;
      throw new SlateError(
        'unavailable',
        'RESULT_BUS_UNAVAILABLE',
        'the result bus refused the upload (it may be restarting); retry after 1 s',
        { retryAfterS: 1 },
        { cause: error },
      );
    }
  };
  return {
    capabilities: { online: true, offline: true },
    async write(environment, values, targets, signal, idempotencyKey) {
      const operationId =
        idempotencyKey === undefined ? randomUUID() : operationIdOf(environment, idempotencyKey);
      if (values.length === 0 || (!targets.online && !targets.offline)) return { operationId };
      const entries = values.map((v) => ({
        feature: v.feature,
        pkey: String(v.pkey),
        value: v.value,
        observedAt: v.observedAt,
      }));
      await publish(
        {
          version: 1,
          environment,
          operationId,
          operationKind: 'UPLOAD_FEATURES',
          deploymentId: null,
          insertedAt: Date.now(),
          values: entries.map((entry) => ({ ...entry, resolver: null })),
          writeOnline: targets.online,
          writeOffline: targets.offline,
        },
        signal,
      );
      // The same entries the online writer will apply from the message, so its write is a no-op replay.
      if (targets.online) await writeOnline((store) => store.set(environment, entries, signal));
      return { operationId };
    },
    async delete(environment, keys, targets, signal) {
      if (!targets.online || keys.length === 0) return;
      await publish(
        {
          version: 1,
          environment,
          operationId: randomUUID(),
          operationKind: 'UPLOAD_FEATURES',
          deploymentId: null,
          insertedAt: Date.now(),
          writeOnline: true,
          writeOffline: false,
          deletes: keys.map((k) => ({ feature: k.feature, pkey: String(k.pkey) })),
        },
        signal,
      );
      const stringKeys = keys.map((k) => ({ feature: k.feature, pkey: String(k.pkey) }));
      await writeOnline((store) => store.delete(environment, stringKeys, signal));
    },
    async drop(environment, features, targets, signal) {
      if (features.length === 0 || (!targets.online && !targets.offline))
        return { online: false, offlineRows: null };
      // At once first, so the answer means "gone" and counts what was erased (unlike a write, a failure
      // here is the caller's to see: a drop is idempotent, so running it again is safe).
      const insertedAt = Date.now();
      if (targets.online && online) await online.dropFeatures(environment, features, signal);
      const offline =
        targets.offline && options.offlineStore
          ? await options.offlineStore.dropFeatures(environment, features, {
              insertedBefore: insertedAt,
              signal,
            })
          : null;
      // Then on the bus, so values published before the drop but not persisted yet are erased too: the
      // writers apply the drop after them (the bus keeps one environment's messages in order), and the
      // offline writer drops only what was inserted up to `insertedAt`, so this message replayed later never
      // erases newer values offline.
      await publish(
        {
          version: 1,
          environment,
          operationId: randomUUID(),
          operationKind: 'UPLOAD_FEATURES',
          deploymentId: null,
          insertedAt,
          writeOnline: targets.online,
          writeOffline: targets.offline,
          drops: [...features],
        },
        signal,
      );
      return { online: targets.online, offlineRows: offline ? offline.rows : null };
    },
  };
}

/** A UUID-shaped operation id derived from the environment and the client's idempotency key. */
export function operationIdOf(environment: string, idempotencyKey: string): string {
  const hex = createHash('sha256').update(`${environment}\0${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
