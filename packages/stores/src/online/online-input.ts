import { SlateError } from '@slate/graph';
import type { OnlineEntry, OnlineKey } from './online-store.ts';

/** Throws `SlateError('input', 'INVALID_ENVIRONMENT')` unless `environment` is a non-empty string. */
export function checkEnvironment(environment: string): void {
  if (typeof environment !== 'string' || environment.length === 0) {
    throw new SlateError('input', 'INVALID_ENVIRONMENT', 'the environment must be a non-empty string');
  }
}

/** Throws `SlateError('input', 'INVALID_FEATURE')` unless `feature` is a non-empty string. */
export function checkFeature(feature: string): void {
  if (typeof feature !== 'string' || feature.length === 0) {
    throw new SlateError('input', 'INVALID_FEATURE', 'a feature name must be a non-empty string', {
      feature,
    });
  }
}

/** Validates one key and returns the primary key's string form, which is what backends compare. */
export function pkeyOf(key: OnlineKey): string {
  checkFeature(key.feature);
  const { pkey } = key;
  if (typeof pkey === 'string') return pkey;
  if (typeof pkey === 'number' && Number.isFinite(pkey)) return String(pkey);
  throw new SlateError('input', 'INVALID_PRIMARY_KEY', 'a primary key must be a string or a finite number', {
    feature: key.feature,
  });
}

/** Validates one entry's timestamp and TTL (the key is validated by `pkeyOf`). */
export function checkEntry(entry: OnlineEntry): void {
  if (typeof entry.observedAt !== 'number' || !Number.isFinite(entry.observedAt)) {
    throw new SlateError('input', 'INVALID_OBSERVED_AT', 'observedAt must be a finite number (epoch ms)', {
      feature: entry.feature,
    });
  }
  if (
    entry.ttlMs !== undefined &&
    !(typeof entry.ttlMs === 'number' && entry.ttlMs > 0 && entry.ttlMs < Infinity)
  ) {
    throw new SlateError('input', 'INVALID_TTL', 'ttlMs must be a positive finite number of milliseconds', {
      feature: entry.feature,
    });
  }
}
