import { randomUUID } from 'node:crypto';
import type { OnlineKey, OnlineStore } from '@slate/stores';

/** One observed feature value to persist: JSON `value` of `feature` for entity `pkey` at `observedAt` (epoch ms). */
export interface FeatureValueWrite {
  readonly feature: string;
  readonly pkey: string | number;
  readonly value: unknown;
  readonly observedAt: number;
}

/** Which stores a write or delete reaches (chalk.md §3.6: `write_online`, `write_offline`, `retain_*`). */
export interface StoreTargets {
  readonly online: boolean;
  readonly offline: boolean;
}

/**
 * Where uploaded feature values go: the seam between the upload endpoints and persistence. Today values go
 * straight to the online store; background persistence re-points this at the bus, which feeds the online
 * and offline stores. Implementations must be safe to call concurrently.
 */
export interface FeatureWriter {
  /** What this writer can reach; a request for a store it cannot reach is refused up front. */
  readonly capabilities: { readonly online: boolean; readonly offline: boolean };
  /**
   * Persists values. Resolves once they are durable where asked (or accepted by the bus), with an id the
   * caller reports as `operation_id`. With `idempotencyKey` (the client's `Idempotency-Key` header) the
   * operation id is derived from it, so a client retrying an upload whose answer it did not get (refused
   * with 503, yet stored) does not store it twice offline: the offline store skips operations it committed.
   */
  write(
    environment: string,
    values: readonly FeatureValueWrite[],
    targets: StoreTargets,
    signal?: AbortSignal,
    idempotencyKey?: string,
  ): Promise<{ operationId: string }>;
  /** Deletes the values of `keys` from the targeted stores. */
  delete(
    environment: string,
    keys: readonly OnlineKey[],
    targets: StoreTargets,
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Deletes every value of `features` (all primary keys) from the targeted stores it can reach, and
   * resolves once they are gone there: `offlineRows` is the number of offline observations erased, `null`
   * when the offline store is out of this writer's reach.
   */
  drop(
    environment: string,
    features: readonly string[],
    targets: StoreTargets,
    signal?: AbortSignal,
  ): Promise<DropOutcome>;
}

/** What `FeatureWriter.drop` did. */
export interface DropOutcome {
  readonly online: boolean;
  /** Offline observations erased; `null` when the offline store was not targeted or not reachable. */
  readonly offlineRows: number | null;
}

/**
 * A feature writer over an online store, for data planes without background persistence: values are
 * written synchronously in one round trip; the offline store is out of its reach (`capabilities.offline`
 * is false), so offline targets are skipped, not failed.
 *
 * @example
 * const writer = createOnlineStoreFeatureWriter(createMemoryOnlineStore());
 * await writer.write('dev', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now() }], { online: true, offline: false });
 */
export function createOnlineStoreFeatureWriter(store: OnlineStore): FeatureWriter {
  return {
    capabilities: { online: true, offline: false },
    async write(environment, values, targets, signal) {
      if (targets.online && values.length > 0) await store.set(environment, values, signal);
      return { operationId: randomUUID() };
    },
    async delete(environment, keys, targets, signal) {
      if (targets.online && keys.length > 0) await store.delete(environment, keys, signal);
    },
    async drop(environment, features, targets, signal) {
      if (targets.online && features.length > 0) await store.dropFeatures(environment, features, signal);
      return { online: targets.online, offlineRows: null };
    },
  };
}
