import { create } from '@bufbuild/protobuf';
import type { QueryError } from '@slate/engine';
import { SlateError } from '@slate/graph';
import {
  type ChalkError,
  ChalkErrorSchema,
  ErrorCode,
  ErrorCodeCategory,
  FeatureMetaSchema,
  FeatureResultSchema,
  type OnlineQueryBulkRequest,
  type OnlineQueryContext,
  type OnlineQueryMetadata,
  OnlineQueryMetadataSchema,
  type OnlineQueryResponseOptions,
  OnlineQueryResponseSchema,
  OnlineQueryResultSchema,
  type OutputExpr,
  type OnlineQueryRequest as ProtoOnlineQueryRequest,
  type OnlineQueryResponse as ProtoOnlineQueryResponse,
  QueryExplainInfoSchema,
} from '@slate/grpc-api';
import { type FeatherQueryHeader, FeatherQueryHeaderSchema } from '../http/feather-query.ts';
import {
  type OnlineQueryRequest,
  OnlineQueryRequestSchema,
  type OnlineQueryResponse,
} from '../http/online-query.ts';
import {
  fromProtoTimestamp,
  fromProtoValue,
  toProtoDuration,
  toProtoTimestamp,
  toProtoValue,
} from './proto-values.ts';

/**
 * An `OnlineQueryRequest` message as the JSON API's request body, validated by the same schema, so both
 * transports run one query path. `context.branch_id` and `context.deployment_id` are carried over (and
 * refused or honoured as for HTTP); `context.options` and `value_metrics_tag_by_features` are ignored.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`) for an output expression (only feature FQNs are served),
 * a bad timestamp, or a body the JSON schema refuses (as a ZodError).
 */
export function onlineRequestFromProto(request: ProtoOnlineQueryRequest): OnlineQueryRequest {
  const inputs: Record<string, unknown> = {};
  for (const [fqn, value] of Object.entries(request.inputs)) inputs[fqn] = fromProtoValue(value);
  return OnlineQueryRequestSchema.parse({
    inputs,
    ...sharedFields(request.outputs, request.staleness, request.context, request.responseOptions),
    now: request.now ? fromProtoTimestamp(request.now) : undefined,
  });
}

/**
 * An `OnlineQueryBulkRequest` message (minus its Arrow body) as the feather endpoint's query header.
 *
 * @throws SlateError `INVALID_QUERY` (kind `input`), as `onlineRequestFromProto`.
 */
export function bulkHeaderFromProto(request: OnlineQueryBulkRequest): FeatherQueryHeader {
  return FeatherQueryHeaderSchema.parse({
    ...sharedFields(request.outputs, request.staleness, request.context, request.responseOptions),
    now: request.now.length > 0 ? request.now.map(fromProtoTimestamp) : undefined,
  });
}

function sharedFields(
  outputs: readonly OutputExpr[],
  staleness: Readonly<Record<string, string>>,
  context: OnlineQueryContext | undefined,
  options: OnlineQueryResponseOptions | undefined,
) {
  const queryContext: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context?.queryContext ?? {}))
    queryContext[key] = fromProtoValue(value);
  const metadata = options?.metadata ?? {};
  return {
    outputs: outputs.map(outputFqn),
    staleness,
    context: { tags: context?.tags ?? [], required_resolver_tags: context?.requiredResolverTags ?? [] },
    include_meta: options?.includeMeta ?? false,
    explain: options?.explain !== undefined,
    query_name: context?.queryName,
    query_name_version: context?.queryNameVersion,
    correlation_id: context?.correlationId,
    deployment_id: context?.deploymentId,
    branch_id: context?.branchId,
    query_context: queryContext,
    meta: Object.keys(metadata).length > 0 ? metadata : undefined,
    encoding_options: {
      encode_structs_as_objects: options?.encodingOptions?.encodeStructsAsObjects ?? false,
    },
  };
}

function outputFqn(output: OutputExpr, index: number): string {
  if (output.expr.case === 'featureFqn' && output.expr.value) return output.expr.value;
  throw new SlateError(
    'input',
    'INVALID_QUERY',
    output.expr.case === 'featureExpression'
      ? `outputs[${index}] is a feature expression; this data plane answers feature FQNs only`
      : `outputs[${index}] names no feature`,
  );
}

/** The JSON API's online-query answer as an `OnlineQueryResponse` message. */
export function onlineResponseToProto(response: OnlineQueryResponse): ProtoOnlineQueryResponse {
  return create(OnlineQueryResponseSchema, {
    data: create(OnlineQueryResultSchema, {
      results: response.data.map((result) =>
        create(FeatureResultSchema, {
          field: result.field,
          value: toProtoValue(result.value),
          pkey: toProtoValue(result.pkey),
          error: result.error ? chalkErrorToProto(result.error) : undefined,
          ts: toProtoTimestamp(result.ts),
          meta: result.meta
            ? create(FeatureMetaSchema, {
                chosenResolverFqn: result.meta.chosen_resolver_fqn ?? '',
                cacheHit: result.meta.cache_hit,
                primitiveType: result.meta.primitive_type ?? '',
                version: BigInt(result.meta.version),
              })
            : undefined,
        }),
      ),
    }),
    errors: response.errors.map(chalkErrorToProto),
    responseMeta: response.meta ? metaToProto(response.meta) : undefined,
  });
}

/** A query error as a `ChalkError`; codes outside the seed product's enum keep their category's nearest code. */
export function chalkErrorToProto(error: QueryError): ChalkError {
  const byName = (ErrorCode as unknown as Record<string, unknown>)[error.code];
  const known = typeof byName === 'number' ? (byName as ErrorCode) : undefined;
  const category =
    error.category === 'REQUEST'
      ? ErrorCodeCategory.REQUEST
      : error.category === 'FIELD'
        ? ErrorCodeCategory.FIELD
        : ErrorCodeCategory.NETWORK_UNSPECIFIED;
  const fallback =
    category === ErrorCodeCategory.REQUEST
      ? ErrorCode.INVALID_QUERY
      : category === ErrorCodeCategory.FIELD
        ? ErrorCode.RESOLVER_FAILED
        : ErrorCode.INTERNAL_SERVER_ERROR_UNSPECIFIED;
  return create(ChalkErrorSchema, {
    code: known ?? fallback,
    category,
    message: error.message,
    feature: error.feature,
    resolver: error.resolver,
    exception: error.exception
      ? {
          kind: error.exception.kind,
          message: error.exception.message,
          stacktrace: error.exception.stacktrace,
        }
      : undefined,
  });
}

/** The JSON API's `meta` object (chalk.md §3.4) as `OnlineQueryMetadata`. */
export function metaToProto(meta: Record<string, unknown>): OnlineQueryMetadata {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const metadata: Record<string, string> = {};
  if (meta.metadata && typeof meta.metadata === 'object')
    for (const [key, value] of Object.entries(meta.metadata)) metadata[key] = String(value);
  return create(OnlineQueryMetadataSchema, {
    executionDuration:
      typeof meta.execution_duration_s === 'number' ? toProtoDuration(meta.execution_duration_s) : undefined,
    deploymentId: text(meta.deployment_id),
    environmentId: text(meta.environment_id),
    environmentName: text(meta.environment_name),
    queryId: text(meta.query_id),
    queryTimestamp: toProtoTimestamp(meta.query_timestamp),
    queryHash: text(meta.query_hash),
    explainOutput:
      typeof meta.explain_output === 'string'
        ? create(QueryExplainInfoSchema, { planString: meta.explain_output })
        : undefined,
    metadata,
    // The proto has no field of its own for these: they travel in `additional_metadata`.
    additionalMetadata: {
      ...(typeof meta.missed_plan_cache === 'boolean'
        ? { missed_plan_cache: toProtoValue(meta.missed_plan_cache) }
        : {}),
      ...(typeof meta.trace_id === 'string' ? { trace_id: toProtoValue(meta.trace_id) } : {}),
    },
  });
}
