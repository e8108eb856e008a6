import { createHash } from 'node:crypto';
import { SlateError } from '@slate/graph';
import type { ObjectStore } from '@slate/stores';
import { z } from 'zod';
import {
  type RunListQuery,
  RunListQuerySchema,
  type RunPage,
  type RunRecord,
  RunRecordSchema,
} from './run-record.ts';

/** Where an incremental resolver's runs have got to (chalk.md §2.2). */
export interface IncrementalState {
  /**
   * The greatest incremental-column value ingested (`feature_time`): ISO text for times, JSON for other
   * values; null before the first run that read a row.
   */
  readonly high_water: string | null;
  /** When the last successful run started (ISO), for `resolver_execution_time` and `${chalk_last_execution_timestamp}`. */
  readonly last_execution_at: string | null;
}

const IncrementalStateSchema = z.object({
  high_water: z.string().nullable(),
  last_execution_at: z.string().nullable(),
});

/**
 * Where runs, idempotency keys, cancel requests and incremental state live, so that they survive a restart
 * of the data plane (and are shared by data planes on the same object storage).
 */
export interface RunStore {
  get(environment: string, id: string): Promise<RunRecord | null>;
  put(record: RunRecord): Promise<void>;
  /** Newest first, at most `limit`. */
  list(environment: string, limit?: number): Promise<RunRecord[]>;
  /**
   * A page of runs, newest first, optionally of one resolver and/or status.
   *
   * @throws SlateError `INVALID_CURSOR` (input) for a cursor this listing did not hand out; ZodError for
   * other malformed query fields.
   */
  page(environment: string, query?: RunListQuery): Promise<RunPage>;
  /**
   * The environment's runs not yet finished (`received` or `running`), oldest first, from an index kept by
   * `put` — so that replicas looking for runs to take over read only those, not every run ever made.
   */
  unfinished(environment: string): Promise<RunRecord[]>;
  /** The run an idempotency key was first used for. */
  runForKey(environment: string, key: string): Promise<string | null>;
  /** Claims a key for a run; resolves to the run that holds it (this one, or an earlier one). */
  claimKey(environment: string, key: string, runId: string): Promise<string>;
  incrementalState(environment: string, resolverFqn: string): Promise<IncrementalState>;
  setIncrementalState(environment: string, resolverFqn: string, state: IncrementalState): Promise<void>;
  /** Forgets a resolver's incremental state: its next run reads everything again. */
  dropIncrementalState(environment: string, resolverFqn: string): Promise<void>;
  /**
   * Asks the data plane running a run to stop it. Kept apart from the record, which the running data plane
   * rewrites (heartbeats), so a request is never overwritten.
   */
  requestCancel(environment: string, id: string, at: string): Promise<void>;
  cancelRequested(environment: string, id: string): Promise<string | null>;
}

/**
 * A run store on the object store's `data` bucket: `runs/<env>/records/<id>.json`,
 * `runs/<env>/keys/<sha256(key)>`, `runs/<env>/high-water/<fqn>` (incremental state as JSON; a bare mark
 * written by earlier versions is read as the high water), `runs/<env>/cancel/<id>`, and
 * `runs/<env>/unfinished/<id>` while a run is not finished (written with its `received` record, removed
 * with its final one; runs started by versions without it are found by reading them).
 *
 * Claiming a key is check-then-write: two simultaneous first uses of one key on two data planes can both
 * start a run. One data plane (the usual deployment) serialises claims in process. Listing reads every
 * record of the environment (the object store has no index): fine for thousands of runs.
 *
 * @example
 * const store = createObjectRunStore(objectStore);
 */
export function createObjectRunStore(objects: ObjectStore): RunStore {
  const recordKey = (environment: string, id: string) => `runs/${environment}/records/${id}.json`;
  const keyKey = (environment: string, key: string) =>
    `runs/${environment}/keys/${createHash('sha256').update(key).digest('hex')}`;
  const waterKey = (environment: string, fqn: string) => `runs/${environment}/high-water/${fqn}`;
  const cancelKey = (environment: string, id: string) => `runs/${environment}/cancel/${id}`;
  const unfinishedKey = (environment: string, id: string) => `runs/${environment}/unfinished/${id}`;
  const text = async (key: string) => {
    const bytes = await objects.get('data', key);
    return bytes ? Buffer.from(bytes).toString('utf8') : null;
  };
  const all = async (environment: string) => {
    const records: RunRecord[] = [];
    for await (const info of objects.list('data', `runs/${environment}/records/`)) {
      const body = await text(info.key);
      if (body) records.push(RunRecordSchema.parse(JSON.parse(body)));
    }
    return records.sort(newestFirst);
  };
  let claims = Promise.resolve<unknown>(undefined);
  return {
    async get(environment, id) {
      if (!/^[\w-]+$/.test(id)) return null;
      const body = await text(recordKey(environment, id));
      return body ? RunRecordSchema.parse(JSON.parse(body)) : null;
    },
    async put(record) {
      // The marker goes first and away last: a run is never unfinished without one.
      if (record.status === 'received')
        await objects.put('data', unfinishedKey(record.environment, record.id), '');
      await objects.put('data', recordKey(record.environment, record.id), JSON.stringify(record));
      if (FINISHED.has(record.status))
        await objects.delete('data', unfinishedKey(record.environment, record.id));
    },
    async unfinished(environment) {
      const runs: RunRecord[] = [];
      for await (const info of objects.list('data', `runs/${environment}/unfinished/`)) {
        const id = info.key.slice(info.key.lastIndexOf('/') + 1);
        const body = await text(recordKey(environment, id));
        const record = body ? RunRecordSchema.parse(JSON.parse(body)) : null;
        if (record && !FINISHED.has(record.status)) runs.push(record);
      }
      return runs.sort((a, b) => -newestFirst(a, b));
    },
    async list(environment, limit = 100) {
      return (await all(environment)).slice(0, limit);
    },
    async page(environment, input = {}) {
      const query = RunListQuerySchema.parse(input);
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const matching = (await all(environment)).filter(
        (record) =>
          (query.resolver_fqn === undefined || record.resolver_fqn === query.resolver_fqn) &&
          (query.status === undefined || record.status === query.status) &&
          (after === undefined || newestFirst(record, after) > 0),
      );
      const runs = matching.slice(0, query.limit);
      const last = runs[runs.length - 1];
      return {
        runs,
        next_cursor: matching.length > query.limit && last ? encodeCursor(last) : null,
      };
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
    async incrementalState(environment, fqn) {
      const body = await text(waterKey(environment, fqn));
      if (body === null) return { high_water: null, last_execution_at: null };
      try {
        const parsed = IncrementalStateSchema.safeParse(JSON.parse(body));
        if (parsed.success) return parsed.data;
      } catch {
        // A bare ISO mark (earlier versions) is not JSON.
      }
      return { high_water: body, last_execution_at: null };
    },
    async setIncrementalState(environment, fqn, state) {
      await objects.put(
        'data',
        waterKey(environment, fqn),
        JSON.stringify(IncrementalStateSchema.parse(state)),
      );
    },
    async dropIncrementalState(environment, fqn) {
      await objects.delete('data', waterKey(environment, fqn));
    },
    async requestCancel(environment, id, at) {
      await objects.put('data', cancelKey(environment, id), at);
    },
    cancelRequested: (environment, id) => text(cancelKey(environment, id)),
  };
}

const FINISHED = new Set<RunRecord['status']>(['succeeded', 'failed', 'canceled']);

/** Newest first; ties (same millisecond) by id, so pages never skip or repeat a run. */
function newestFirst(
  a: Pick<RunRecord, 'created_at' | 'id'>,
  b: Pick<RunRecord, 'created_at' | 'id'>,
): number {
  return b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);
}

function encodeCursor(record: RunRecord): string {
  return Buffer.from(JSON.stringify([record.created_at, record.id])).toString('base64url');
}

const CursorSchema = z.tuple([z.string(), z.string()]);

function decodeCursor(cursor: string): Pick<RunRecord, 'created_at' | 'id'> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = CursorSchema.safeParse(value);
  if (!parsed.success)
    throw new SlateError('input', 'INVALID_CURSOR', 'cursor is not a next_cursor of this listing');
  const [created_at, id] = parsed.data;
  return { created_at, id };
}
