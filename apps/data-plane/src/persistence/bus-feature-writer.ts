import { randomUUID } from 'node:crypto';
import type { Bus } from '@slate/stores';
import type { FeatureWriter } from '../http/feature-writer.ts';
import { RESULT_BUS_TOPIC, type ResultMessageInput } from './result-message.ts';

/**
 * A `FeatureWriter` that sends uploads and deletes through the result bus, so background persistence
 * writes them to the online and offline stores. `write` resolves once the bus holds the message (durable
 * on the bus, not yet in the stores). Deletes reach the online store only: the offline store is an
 * append-only history, so the offline target of a delete is skipped, as the online-only writer skips it.
 *
 * @example
 * const writer = createBusFeatureWriter(bus);
 * await writer.write('prod', [{ feature: 'user.name', pkey: 1, value: 'Ada', observedAt: Date.now() }], { online: true, offline: true });
 */
export function createBusFeatureWriter(bus: Bus, options: { topic?: string } = {}): FeatureWriter {
  const topic = options.topic ?? RESULT_BUS_TOPIC;
  const publish = async (message: ResultMessageInput, signal?: AbortSignal) => {
    await bus.publish(
      topic,
      [{ key: message.environment, value: JSON.stringify(message), id: message.operationId }],
      signal,
    );
  };
  return {
    capabilities: { online: true, offline: true },
    async write(environment, values, targets, signal) {
      const operationId = randomUUID();
      if (values.length === 0 || (!targets.online && !targets.offline)) return { operationId };
      await publish(
        {
          version: 1,
          environment,
          operationId,
          operationKind: 'UPLOAD_FEATURES',
          deploymentId: null,
          insertedAt: Date.now(),
          values: values.map((v) => ({
            feature: v.feature,
            pkey: String(v.pkey),
            value: v.value,
            observedAt: v.observedAt,
            resolver: null,
          })),
          writeOnline: targets.online,
          writeOffline: targets.offline,
        },
        signal,
      );
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
    },
  };
}
