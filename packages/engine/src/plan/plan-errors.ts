import { closestName, type FeatureIndex, type FeatureSpec } from '@slate/graph';
import type { QueryError } from '../query.ts';

/** A stand-in for an output naming no feature (lint reports those; the executor then fails the output). */
export function missingSpec(fqn: string): FeatureSpec {
  const dot = fqn.indexOf('.');
  return {
    kind: 'scalar',
    fqn,
    name: fqn.slice(dot + 1),
    namespace: fqn.slice(0, dot),
    dtype: { type: 'document' },
    tags: [],
    primary: false,
    featureTime: false,
    nullable: true,
    version: 1,
    deprecated: false,
    maxStalenessS: 0,
    storeOnline: false,
    storeOffline: false,
    etlOfflineToOnline: false,
    cacheNulls: false,
    cacheDefaults: false,
    offlineTtlS: null,
  };
}

/** A request-category query error about one feature. */
export const requestError = (code: QueryError['code'], fqn: string, message: string): QueryError => ({
  code,
  category: 'REQUEST',
  feature: fqn,
  message,
});

/**
 * ` (did you mean 'user.email'?)` for a misspelled feature of a known namespace (`user.emial`), or for a
 * misspelled namespace (`usr.email`); `''` when nothing is close, or for versioned names (`x@3`).
 */
export function suggestFeature(index: FeatureIndex, name: string): string {
  const dot = name.indexOf('.');
  if (dot < 0 || name.includes('@')) return '';
  const namespace = name.slice(0, dot);
  const feature = name.slice(dot + 1);
  const spec = index.namespaces.get(namespace);
  if (spec) {
    const closest = closestName(
      feature,
      spec.features.map((f) => f.name),
    );
    return closest === undefined ? '' : ` (did you mean '${namespace}.${closest}'?)`;
  }
  const closestNamespace = closestName(namespace, index.namespaces.keys());
  if (closestNamespace === undefined) return '';
  const candidate = `${closestNamespace}.${feature}`;
  return index.resolve(candidate) || index.windows(candidate) ? ` (did you mean '${candidate}'?)` : '';
}
