import { type Duration, parseDuration, SlateError, type SourceLocation } from '@slate/graph';
import type { FeatureRef } from './feature-class.ts';
import { callerLocation } from './source-location.ts';

const streamBrand = Symbol.for('slate.stream-resolver');

/** A message of a stream as `parse` receives it. */
export interface StreamMessage {
  /** The message body (a JSON document, typically: parse it yourself). */
  readonly value: string;
  readonly key: string;
  /** When the message was published. */
  readonly publishedAt: Date;
}

export type StreamOutputs = Record<string, FeatureRef>;

/** Options of `stream`. */
export interface StreamOptions<O extends StreamOutputs> {
  /** The resolver's name; by default the name it is exported under. */
  readonly name?: string;
  /** The bus topic the resolver reads (Redis Streams or Kafka in production, the embedded log locally). */
  readonly source: { readonly topic: string };
  /** The features (of one namespace, the primary key among them) each message yields, by field name. */
  readonly outputs: O;
  /**
   * Turns a message into feature values; `undefined` skips the message. A throw sends the message to the
   * topic's dead-letter topic; the stream goes on.
   */
  readonly parse: (message: StreamMessage) => { [K in keyof O]: O[K]['__value'] } | undefined;
  /** Messages published longer ago than this are dropped (default: never). */
  readonly lateArrivalDeadline?: Duration;
  readonly environment?: string | readonly string[];
  readonly description?: string;
  readonly owner?: string;
}

/** A streaming resolver declared with `stream(...)`. */
export interface StreamResolver<O extends StreamOutputs = StreamOutputs> {
  readonly [streamBrand]: StreamInternals<O>;
}

export interface StreamInternals<O extends StreamOutputs = StreamOutputs> extends StreamOptions<O> {
  readonly location?: SourceLocation;
}

/**
 * Declares a mapping streaming resolver: every message of `source.topic` is parsed into feature values of
 * one entity, which are persisted like any computed value (offline; online when the features have
 * `etlOfflineToOnline` and a `maxStaleness`). Delivery is at least once; writes are idempotent by message.
 * For the windowed kind (aggregates over look-back windows per entity) see `windowedStream`.
 *
 * @throws SlateError `INVALID_RESOLVER` for an empty topic, a bad deadline or outputs of several namespaces.
 * @example
 * export const transaction_stream = stream({
 *   source: { topic: 'transactions' },
 *   outputs: { id: Transaction.id, amount: Transaction.amount },
 *   parse: ({ value }) => {
 *     const body = JSON.parse(value) as { id: number; amount: number };
 *     return { id: body.id, amount: body.amount };
 *   },
 * });
 */
export function stream<const O extends StreamOutputs>(options: StreamOptions<O>): StreamResolver<O> {
  const location = callerLocation();
  const fail = (message: string) =>
    new SlateError(
      'input',
      'INVALID_RESOLVER',
      `${location ? `${location.file}:${location.line}: ` : ''}${message}`,
      { source: location },
    );
  if (!options.source?.topic) throw fail('a streaming resolver needs source.topic');
  if (options.lateArrivalDeadline !== undefined) {
    try {
      parseDuration(options.lateArrivalDeadline);
    } catch {
      throw fail(`lateArrivalDeadline '${options.lateArrivalDeadline}' is not a duration`);
    }
  }
  const namespaces = new Set(Object.values(options.outputs).map((ref) => ref.namespace));
  if (namespaces.size !== 1) throw fail('a streaming resolver outputs features of exactly one namespace');
  return Object.freeze({ [streamBrand]: Object.freeze({ ...options, location }) });
}

export function isStreamResolver(value: unknown): value is StreamResolver {
  return typeof value === 'object' && value !== null && streamBrand in value;
}

export function streamInternals(resolver: StreamResolver): StreamInternals {
  return resolver[streamBrand] as StreamInternals;
}

/** The input parameter under which the engine passes a message to a streaming resolver's function. */
export const STREAM_MESSAGE_PARAM = 'message';
/** The output a streaming resolver's function returns instead of values when `parse` skipped a message. */
export const STREAM_SKIPPED_OUTPUT = '__skipped';
