import { randomUUID } from 'node:crypto';
import type { Engine, EngineQuery, EngineResult } from '@slate/engine';
import type { ResultMessageInput, ResultValue } from './result-message.ts';
import type { ResultPublisher } from './result-publisher.ts';

/**
 * Wraps an engine so that each query's freshly computed values (not online-store hits, not inputs, not
 * errors; features with `storeOffline`) go to the result bus for the offline store, with a query-log entry
 * and a usage event. The online copy is not re-sent: the engine already wrote it back by max_staleness.
 *
 * The query waits until its message is accepted by the publisher's bounded queue (not until it is on the
 * bus): that wait is the backpressure that keeps a bus falling behind from growing memory. When the queue
 * stays full past the publisher's `maxBlockMs`, the query fails with `RESULT_BUS_FULL` (503, `Retry-After`)
 * rather than answering with values whose offline copy would be lost.
 *
 * @throws SlateError `RESULT_BUS_FULL` (kind `unavailable`) as above; whatever the engine throws.
 */
export function publishingEngine(
  engine: Engine,
  publisher: ResultPublisher,
  context: { environment: string; operationKind?: 'ONLINE_QUERY' | 'OFFLINE_QUERY' },
): Engine {
  return {
    ...engine,
    graph: engine.graph,
    deploymentId: engine.deploymentId,
    planner: engine.planner,
    async query(query: EngineQuery): Promise<EngineResult> {
      const started = new Date();
      const result = await engine.query(query);
      const finished = new Date();
      // Not the query's signal: a client that went away must not cost the values already computed their
      // offline copy; the wait is bounded by the publisher's deadline anyway.
      await publisher.publish(resultMessage(engine, query, result, context, started, finished));
      return result;
    },
    prepare: (inputs, outputs, tags) => engine.prepare(inputs, outputs, tags),
    close: () => engine.close(),
  };
}

/** The result message of one engine query. */
export function resultMessage(
  engine: Engine,
  query: EngineQuery,
  result: EngineResult,
  context: { environment: string; operationKind?: 'ONLINE_QUERY' | 'OFFLINE_QUERY'; operationId?: string },
  started: Date,
  finished: Date,
): ResultMessageInput {
  const operationId = context.operationId ?? randomUUID();
  const operationKind = context.operationKind ?? 'ONLINE_QUERY';
  const { features, namespaces } = engine.planner.index;
  const values: ResultValue[] = [];
  for (const column of result.columns) {
    const spec = features.get(column.fqn);
    if (column.kind !== 'scalar' || spec?.kind !== 'scalar' || !spec.storeOffline || column.resolver === null)
      continue;
    const primaryKey = namespaces.get(spec.namespace)?.primaryKey;
    const keys = primaryKey ? query.inputs[primaryKey] : undefined;
    if (!keys) continue;
    for (let row = 0; row < result.rowCount; row++) {
      const observedAt = column.observedAt[row];
      if (column.errors[row] || column.cacheHits[row] || observedAt == null || keys[row] == null) continue;
      values.push({
        feature: column.fqn,
        pkey: String(keys[row]),
        value: toJson(column.values[row]),
        observedAt,
        resolver: column.resolver,
      });
    }
  }
  const errors = result.errors.length;
  return {
    version: 1,
    environment: context.environment,
    operationId,
    operationKind,
    deploymentId: engine.deploymentId,
    insertedAt: finished.getTime(),
    values,
    writeOnline: false,
    writeOffline: values.length > 0,
    queryLog: {
      operation_id: operationId,
      environment_id: context.environment,
      deployment_id: engine.deploymentId,
      operation_kind: operationKind,
      query_timestamp: (query.now ?? started).toISOString(),
      execution_started_at: started.toISOString(),
      execution_finished_at: finished.toISOString(),
      query_status:
        result.columns.length === 0 && errors > 0
          ? 'ERROR'
          : errors > 0
            ? 'SUCCESSFUL_WITH_NONFATAL_ERRORS'
            : 'SUCCESSFUL',
      query_name: query.labels?.queryName ?? null,
      correlation_id: query.labels?.correlationId ?? null,
      outputs: [...query.outputs],
      row_count: result.rowCount,
      error_count: errors,
    },
    usage: {
      operation_id: operationId,
      operation_kind: operationKind,
      at: finished.toISOString(),
      rows: result.rowCount,
      feature_values: result.rowCount * result.columns.length,
      resolver_values: values.length,
    },
  };
}

function toJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  return value === undefined ? null : value;
}
