import type { OfflineStore, RecordBatch } from '@slate/stores';
import type { ResultMessage } from '../result-message.ts';
import type { PersistenceWriter } from './writer.ts';

/** The table the query-log writer fills (the seed product's `query_log`). */
export const QUERY_LOG_TABLE = 'query_log';
/** The table the usage writer fills. */
export const USAGE_TABLE = 'usage';

function createRecordWriter(
  name: string,
  table: string,
  store: OfflineStore,
  pick: (message: ResultMessage) => Record<string, unknown> | undefined,
): PersistenceWriter {
  return {
    name,
    async write(batch, signal) {
      const byEnvironment = new Map<string, RecordBatch[]>();
      for (const { id, message } of batch) {
        const row = pick(message);
        if (!row) continue;
        // Appended in place: copying the list per message made a batch quadratic in its size.
        let batches = byEnvironment.get(message.environment);
        if (!batches) {
          batches = [];
          byEnvironment.set(message.environment, batches);
        }
        batches.push({ id, rows: [row] });
      }
      for (const [environment, batches] of byEnvironment)
        await store.appendRecords(environment, table, batches, signal);
    },
  };
}

/** The query-log writer: one `query_log` row per operation, idempotent by message id. */
export function createQueryLogWriter(store: OfflineStore): PersistenceWriter {
  return createRecordWriter('query_log', QUERY_LOG_TABLE, store, (message) => message.queryLog);
}

/** The usage writer: one `usage` row per operation, idempotent by message id. */
export function createUsageWriter(store: OfflineStore): PersistenceWriter {
  return createRecordWriter('usage', USAGE_TABLE, store, (message) => message.usage);
}
