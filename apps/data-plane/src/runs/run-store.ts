import { createHash } from 'node:crypto';
import type { ObjectStore } from '@slate/stores';
import { type RunRecord, RunRecordSchema } from './run-record.ts';

/**
 * Where runs, idempotency keys and incremental high-water marks live, so that they survive a restart of the
 * data plane (and are shared by data planes on the same object storage).
 */
export interface RunStore {
  get(environment: string, id: string): Promise<RunRecord | null>;
  put(record: RunRecord): Promise<void>;
  /** Newest first, at most `limit`. */
  list(environment: string, limit?: number): Promise<RunRecord[]>;
  /** The run an idempotency key was first used for. */
  runForKey(environment: string, key: string): Promise<string | null>;
  /** Claims a key for a run; resolves to the run that holds it (this one, or an earlier one). */
  claimKey(environment: string, key: string, runId: string): Promise<string>;
  highWater(environment: string, resolverFqn: string): Promise<string | null>;
  setHighWater(environment: string, resolverFqn: string, value: string): Promise<void>;
}

/**
 * A run store on the object store's `data` bucket: `runs/<env>/records/<id>.json`,
 * `runs/<env>/keys/<sha256(key)>`, `runs/<env>/high-water/<fqn>`.
 *
 * Claiming a key is check-then-write: two simultaneous first uses of one key on two data planes can both
 * start a run. One data plane (the usual deployment) serialises claims in process.
 *
 * @example
 * const store = createObjectRunStore(objectStore);
 */
export function createObjectRunStore(objects: ObjectStore): RunStore {
  const recordKey = (environment: string, id: string) => `runs/${environment}/records/${id}.json`;
  const keyKey = (environment: string, key: string) =>
    `runs/${environment}/keys/${createHash('sha256').update(key).digest('hex')}`;
  const waterKey = (environment: string, fqn: string) => `runs/${environment}/high-water/${fqn}`;
  const text = async (key: string) => {
    const bytes = await objects.get('data', key);
    return bytes ? Buffer.from(bytes).toString('utf8') : null;
  };
  let claims = Promise.resolve<unknown>(undefined);
  return {
    async get(environment, id) {
      if (!/^[\w-]+$/.test(id)) return null;
      const body = await text(recordKey(environment, id));
      return body ? RunRecordSchema.parse(JSON.parse(body)) : null;
    },
    async put(record) {
      await objects.put('data', recordKey(record.environment, record.id), JSON.stringify(record));
    },
    async list(environment, limit = 100) {
      const records: RunRecord[] = [];
      for await (const info of objects.list('data', `runs/${environment}/records/`)) {
        const body = await text(info.key);
        if (body) records.push(RunRecordSchema.parse(JSON.parse(body)));
      }
      return records.sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, limit);
    },
    runForKey: (environment, key) => text(keyKey(environment, key)),
    claimKey(environment, key, runId) {
      const claimed = claims.then(async () => {
        const holder = await text(keyKey(environment, key));
        if (holder) return holder;
        await objects.put('data', keyKey(environment, key), runId);
        return runId;
      });
      claims = claimed.catch(() => undefined);
      return claimed;
    },
    highWater: (environment, fqn) => text(waterKey(environment, fqn)),
    async setHighWater(environment, fqn, value) {
      await objects.put('data', waterKey(environment, fqn), value);
    },
  };
}
