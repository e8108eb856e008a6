import type { Observation, SampledFeature } from './offline-store.ts';

/**
 * The point-in-time rule as a plain loop over every observation, for tests to compare real stores with:
 * for each spine row and feature, the observation of that key with the greatest `observedAt <= T` (and
 * within the bounds), ties to the greatest `insertedAt`, then to the one written last (later in
 * `observations`, which must be in write order), unless it is older than `T - ttlMs`.
 * Quadratic; for small randomized data sets only.
 */
export function pointInTimeOracle(
  observations: readonly Observation[],
  spine: { readonly pkeys: readonly string[]; readonly times: readonly number[] },
  features: readonly SampledFeature[],
  bounds: { readonly lowerBound?: number; readonly upperBound?: number } = {},
): { fqn: string; values: unknown[]; observedAt: (number | null)[] }[] {
  return features.map((feature) => {
    const values: unknown[] = [];
    const observedAt: (number | null)[] = [];
    spine.pkeys.forEach((pkey, row) => {
      const t = spine.times[row]!;
      let best: Observation | undefined;
      for (const o of observations) {
        if (o.feature !== feature.fqn || o.pkey !== pkey || o.observedAt > t) continue;
        if (bounds.lowerBound !== undefined && o.observedAt < bounds.lowerBound) continue;
        if (bounds.upperBound !== undefined && o.observedAt > bounds.upperBound) continue;
        if (
          !best ||
          o.observedAt > best.observedAt ||
          (o.observedAt === best.observedAt && o.insertedAt >= best.insertedAt)
        )
          best = o;
      }
      const fresh = best && (feature.ttlMs === null || best.observedAt >= t - feature.ttlMs);
      values.push(fresh ? (best!.value ?? null) : null);
      observedAt.push(fresh ? best!.observedAt : null);
    });
    return { fqn: feature.fqn, values, observedAt };
  });
}
