import type { Tracer } from '@opentelemetry/api';
import type { OfflineStore, OnlineStore } from '@slate/stores';
import { childSpan } from './tracing.ts';

/**
 * Wraps an online store so that each call made under a recorded span (a sampled query, a traced
 * persistence batch) is a `slate.online_store.<operation>` child span with the environment and key count;
 * reads also count their hits. Other calls go straight through.
 *
 * @example
 * const onlineStore = tracedOnlineStore(createOnlineStore(config), tracing.tracer);
 */
export function tracedOnlineStore(store: OnlineStore, tracer: Tracer): OnlineStore {
  const attributes = (environment: string, count: number) => ({
    'slate.environment.id': environment,
    'slate.online_store.keys': count,
  });
  return {
    capabilities: store.capabilities,
    init: () => store.init(),
    close: () => store.close(),
    get: (environment, keys, signal) =>
      childSpan(
        tracer,
        'slate.online_store.get',
        attributes(environment, keys.length),
        () => store.get(environment, keys, signal),
        (span, values) => {
          let hits = 0;
          for (const value of values) if (value !== null) hits++;
          span.setAttribute('slate.online_store.hits', hits);
        },
      ),
    set: (environment, entries, signal) =>
      childSpan(tracer, 'slate.online_store.set', attributes(environment, entries.length), () =>
        store.set(environment, entries, signal),
      ),
    delete: (environment, keys, signal) =>
      childSpan(tracer, 'slate.online_store.delete', attributes(environment, keys.length), () =>
        store.delete(environment, keys, signal),
      ),
    dropFeatures: (environment, features, signal) =>
      childSpan(tracer, 'slate.online_store.drop_features', attributes(environment, features.length), () =>
        store.dropFeatures(environment, features, signal),
      ),
  };
}

/**
 * Wraps an offline store so that each call made under a recorded span is a `slate.offline_store.<operation>`
 * child span with the environment (and, for writes, the batch and observation counts).
 *
 * @example
 * const offlineStore = tracedOfflineStore(createParquetOfflineStore(config), tracing.tracer);
 */
export function tracedOfflineStore(store: OfflineStore, tracer: Tracer): OfflineStore {
  const env = (environment: string) => ({ 'slate.environment.id': environment });
  return {
    capabilities: store.capabilities,
    init: () => store.init(),
    close: () => store.close(),
    dropFeatures: (environment, features, options) =>
      childSpan(tracer, 'slate.offline_store.drop_features', env(environment), () =>
        store.dropFeatures(environment, features, options),
      ),
    write: (environment, batches, signal) => {
      let observations = 0;
      for (const batch of batches) observations += batch.observations.length;
      return childSpan(
        tracer,
        'slate.offline_store.write',
        {
          ...env(environment),
          'slate.offline_store.batches': batches.length,
          'slate.offline_store.observations': observations,
        },
        () => store.write(environment, batches, signal),
      );
    },
    appendRecords: (environment, table, batches, signal) =>
      childSpan(
        tracer,
        'slate.offline_store.append_records',
        {
          ...env(environment),
          'slate.offline_store.table': table,
          'slate.offline_store.batches': batches.length,
        },
        () => store.appendRecords(environment, table, batches, signal),
      ),
    readRecords: (environment, table, signal) =>
      childSpan(
        tracer,
        'slate.offline_store.read_records',
        { ...env(environment), 'slate.offline_store.table': table },
        () => store.readRecords(environment, table, signal),
      ),
    sample: (environment, request, signal) =>
      childSpan(
        tracer,
        'slate.offline_store.sample',
        { ...env(environment), 'slate.offline_store.features': request.features.length },
        () => store.sample(environment, request, signal),
      ),
    scan: (environment, options) =>
      childSpan(tracer, 'slate.offline_store.scan', env(environment), () => store.scan(environment, options)),
    compact: (environment, signal) =>
      childSpan(tracer, 'slate.offline_store.compact', env(environment), () =>
        store.compact(environment, signal),
      ),
  };
}
