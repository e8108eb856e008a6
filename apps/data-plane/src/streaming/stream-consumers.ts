import { type Engine, indexGraph } from '@slate/engine';
import type { ResolverSpec } from '@slate/graph';
import type { Bus, BusConsumer, BusMessage, OnlineStore, OutgoingMessage } from '@slate/stores';
import type { Logger } from 'pino';
import type { ServedEnvironments } from '../deployments/served-environments.ts';
import type { StreamOutcome } from '../observability/data-plane-metrics.ts';
import {
  RESULT_BUS_TOPIC,
  type ResultMessageInput,
  type ResultValue,
} from '../persistence/result-message.ts';
import {
  createWindowedStreamState,
  type WindowedStreamState,
  type WindowRow,
} from './windowed-stream-state.ts';

/** The input parameter and skip marker of a streaming resolver's function (as `@slate/sdk` defines them). */
const MESSAGE_PARAM = 'message';
const SKIPPED_OUTPUT = '__skipped';
/** A windowed stream row's entity key and event time outputs (`STREAM_KEY_OUTPUT`, `STREAM_TIME_OUTPUT`). */
const KEY_OUTPUT = '__key';
const TIME_OUTPUT = '__time';

/** The streaming resolvers of the served deployments, each consumed by its own loop. */
export interface StreamConsumers {
  /** Starts or stops consumers so that every streaming resolver of every active deployment has one. */
  reconcile(): void;
  /** Reconciles now and then every `reconcileIntervalMs`. */
  start(): void;
  /** Stops every consumer after its current batch; unacknowledged messages are redelivered later. */
  stop(): Promise<void>;
}

export interface StreamConsumersOptions {
  readonly served: ServedEnvironments;
  /** The bus the stream topics and the result bus live on. */
  readonly bus: Bus;
  /**
   * This data plane's consumer name: a restarted data plane under the same name is given back what it had
   * received and not acknowledged (no loss); other data planes share the work of a topic.
   */
  readonly name: string;
  readonly resultTopic?: string;
  /**
   * Where windowed streams keep their per-entity bucket state and timers (the data plane's online store).
   * Without it windowed streaming resolvers are not consumed.
   */
  readonly stateStore?: OnlineStore;
  /**
   * Claims a windowed stream for this replica (the metadata plane's job lease). Pass it when the bus does
   * not keep an entity on one consumer — a Redis Streams group hands any message to any consumer, while
   * Kafka keeps a key on its partition's owner — because each window update is a read-modify-write of the
   * entity's state. Only the holder consumes the stream; the other replicas wait and take over once it
   * stops renewing (its unacknowledged messages come back to them when idle). A failed claim (metadata
   * plane unreachable) counts as not held: windows pause rather than risk two owners. Default: no claim.
   */
  readonly claimWindowed?: (key: string, ttlSeconds: number) => Promise<boolean>;
  /** The lease `claimWindowed` takes, renewed every third of it (default 30 s). */
  readonly windowLeaseSeconds?: number;
  /** Messages per batch (default 500). */
  readonly batchSize?: number;
  /** How long a poll waits for messages (default 100 ms). */
  readonly pollWaitMs?: number;
  /** Default 1 s. */
  readonly reconcileIntervalMs?: number;
  readonly clock?: () => number;
  readonly metrics?: {
    observeStream(
      resolver: string,
      counts: Readonly<Partial<Record<StreamOutcome, number>>>,
      lagSeconds: number,
      environment?: string,
    ): void;
  };
  readonly logger?: Logger;
  /** Test seam: runs after a batch's results are on the result bus, before it is acknowledged. */
  readonly beforeAck?: (messages: readonly BusMessage[]) => Promise<void>;
}

/**
 * Creates the stream consumers of a data plane: one loop per (environment, streaming resolver), reading the
 * resolver's topic in the consumer group `stream.<environment>.<resolver>`. Each batch is parsed by the
 * resolver's function in the deployment's runtime (worker threads); every message's values become one
 * result message whose id is derived from the stream message's id, published to the result bus before the
 * batch is acknowledged — so delivery is at least once and the persistence writers (idempotent by message
 * id) store each message's values exactly once, across restarts. A message whose `parse` throws goes to
 * the topic's dead-letter topic with the error as the reason; `undefined` from `parse` skips it; a message
 * older than the resolver's late-arrival deadline is dropped. Values are observed at the feature-time
 * output when the resolver returns one, else at the message's publication; they go offline, and online for
 * features with `etlOfflineToOnline` and a max staleness.
 *
 * Windowed streams (`mode: 'windowed'`) aggregate each parsed row into its entity's epoch-aligned bucket
 * (by event time: the resolver's `time` output, else the publication; never later than the clock; rows
 * older than the late-arrival deadline are dropped) in `stateStore`, with the newest applied offset per
 * partition, so a redelivery is never counted twice. Every entity a batch changed gets one result message
 * with all its windows' values; the state is written after that message is on the result bus and before
 * the batch is acknowledged. A timer wheel in the same store re-emits an entity when a bucket leaves one of
 * its windows. A failed windowed batch is given back at once so that its rows are applied in offset order.
 *
 * @example
 * const streams = createStreamConsumers({ served, bus, name: 'data-plane-1', metrics });
 * streams.start();
 */
export function createStreamConsumers(options: StreamConsumersOptions): StreamConsumers {
  const clock = options.clock ?? Date.now;
  const resultTopic = options.resultTopic ?? RESULT_BUS_TOPIC;
  const loops = new Map<string, { stop: () => Promise<void> }>();
  const refused = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const reconcile = () => {
    const wanted = new Map<string, { environment: string; resolver: ResolverSpec }>();
    for (const environment of options.served.list())
      for (const resolver of environment.deployment?.engine.graph.resolvers ?? [])
        if (resolver.stream)
          wanted.set(
            `${environment.id}\u0000${resolver.fqn}\u0000${resolver.stream.topic}\u0000${resolver.stream.mode}`,
            {
              environment: environment.id,
              resolver,
            },
          );
    for (const [key, loop] of loops)
      if (!wanted.has(key)) {
        loops.delete(key);
        void loop.stop();
      }
    for (const [key, { environment, resolver }] of wanted) {
      if (loops.has(key)) continue;
      if (resolver.stream!.mode === 'windowed' && !options.stateStore) {
        if (!refused.has(key))
          options.logger?.error(
            { resolver: resolver.fqn },
            'windowed stream needs a state store; not consumed',
          );
        refused.add(key);
        continue;
      }
      loops.set(
        key,
        startLoop(environment, resolver.fqn, resolver.stream!.topic, resolver.stream!.mode === 'windowed'),
      );
    }
  };

  const startLoop = (environment: string, fqn: string, topic: string, windowed: boolean) => {
    const consumer = options.bus.consumer({
      topic,
      group: `stream.${environment}.${fqn}`,
      name: options.name,
      from: 'earliest',
    });
    const abort = new AbortController();
    let failures = 0;
    let swept = Number.NEGATIVE_INFINITY;
    // Lease times are wall-clock times (the metadata plane's), not the injected event clock.
    const leaseMs = (options.windowLeaseSeconds ?? 30) * 1000;
    let renewedAt = Number.NEGATIVE_INFINITY;
    let held = false;
    /** True while this replica may consume the stream: always, unless windowed with `claimWindowed`. */
    const owns = async () => {
      if (!windowed || !options.claimWindowed) return true;
      const now = Date.now();
      if (held && now - renewedAt < leaseMs / 3) return true;
      held = await options
        .claimWindowed(`windowed-stream:${environment}/${fqn}`, leaseMs / 1000)
        .catch(() => false);
      renewedAt = now;
      return held;
    };
    const done = (async () => {
      while (!abort.signal.aborted) {
        let messages: BusMessage[] = [];
        try {
          if (!(await owns())) {
            // Not ours: wait a little (or until stopped) and try to claim it again.
            await new Promise<void>((resolve) => {
              const timers: { timer?: NodeJS.Timeout } = {};
              const wake = () => {
                clearTimeout(timers.timer);
                resolve();
              };
              timers.timer = setTimeout(
                () => {
                  abort.signal.removeEventListener('abort', wake);
                  resolve();
                },
                Math.min(1_000, leaseMs / 3),
              );
              abort.signal.addEventListener('abort', wake, { once: true });
            });
            continue;
          }
          if (windowed) swept = await sweepTimers(environment, fqn, swept);
          messages = await consumer.poll({
            max: options.batchSize ?? 500,
            waitMs: options.pollWaitMs ?? 100,
            signal: abort.signal,
          });
          if (messages.length === 0) {
            options.metrics?.observeStream(fqn, {}, 0, environment);
            continue;
          }
          const handled = await options.served.withEngine(environment, (deployment) =>
            consumeBatch(deployment.engine, deployment.id, environment, fqn, consumer, messages),
          );
          if (handled === undefined) await consumer.nack(messages);
          failures = 0;
        } catch (error) {
          // A windowed stream applies each partition's rows in offset order: give the batch back now rather
          // than let newer messages overtake it.
          if (windowed && messages.length > 0) await consumer.nack(messages).catch(() => {});
          if (abort.signal.aborted) break;
          failures++;
          options.logger?.error({ resolver: fqn, topic, err: error }, 'stream batch failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 250 * 2 ** failures)));
        }
      }
    })();
    return {
      async stop() {
        abort.abort();
        await done;
        await consumer.close();
      },
    };
  };

  const consumeBatch = async (
    engine: Engine,
    deploymentId: string,
    environment: string,
    fqn: string,
    consumer: BusConsumer,
    messages: readonly BusMessage[],
  ): Promise<true> => {
    const spec = engine.graph.resolvers.find((resolver) => resolver.fqn === fqn && resolver.stream);
    if (!spec || !engine.runtime) {
      await consumer.nack(messages);
      return true;
    }
    const now = clock();
    const lateMs = spec.stream!.lateArrivalS === null ? null : spec.stream!.lateArrivalS * 1000;
    if (spec.stream!.mode === 'windowed')
      return consumeWindowedBatch(engine, spec, deploymentId, environment, consumer, messages, now, lateMs);
    const fresh = lateMs === null ? messages : messages.filter((m) => now - m.publishedAt <= lateMs);
    const late = messages.length - fresh.length;
    const outcomes =
      fresh.length === 0 ? [] : await parseMessages(engine, spec, fresh, environment, deploymentId, now);
    const shape = streamShape(engine, spec);
    const results: OutgoingMessage[] = [];
    const dead: { message: BusMessage; reason: string }[] = [];
    let skipped = 0;
    fresh.forEach((message, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        dead.push({ message, reason: `${outcome.error.kind}: ${outcome.error.message}` });
        return;
      }
      if (outcome.outputs[SKIPPED_OUTPUT] === true) {
        skipped++;
        return;
      }
      results.push(
        ...resultMessages(
          shape,
          spec,
          outcome.outputs,
          { operation: `stream:${message.topic}:${message.id}`, observedAt: message.publishedAt },
          environment,
          deploymentId,
          now,
        ),
      );
    });
    if (results.length > 0) await options.bus.publish(resultTopic, results);
    await settleBatch(environment, fqn, consumer, messages, dead, {
      success: fresh.length - skipped - dead.length,
      skipped,
      late,
    });
    return true;
  };

  /** Runs a stream resolver's `parse` over a batch, one row per message. */
  const parseMessages = (
    engine: Engine,
    spec: ResolverSpec,
    messages: readonly BusMessage[],
    environment: string,
    deploymentId: string,
    now: number,
  ) =>
    engine.runtime!.call({
      resolver: spec.fqn,
      rows: messages.map((m) => ({
        [MESSAGE_PARAM]: { value: m.value, key: m.key, publishedAt: new Date(m.publishedAt) },
      })),
      context: { now: new Date(now), environment, deploymentId, tags: [], queryContext: {} },
      timeoutMs: spec.timeoutMs,
    });

  /**
   * Ends a batch whose results are on the result bus: dead-letters the messages `parse` threw on,
   * acknowledges the rest and records the batch's counts and the stream's lag.
   */
  const settleBatch = async (
    environment: string,
    fqn: string,
    consumer: BusConsumer,
    messages: readonly BusMessage[],
    dead: readonly { message: BusMessage; reason: string }[],
    counts: { success: number; skipped: number; late: number },
  ) => {
    await options.beforeAck?.(messages);
    for (const { message, reason } of dead) await consumer.deadLetter([message], reason.slice(0, 500));
    const deadIds = new Set(dead.map((d) => d.message));
    await consumer.ack(messages.filter((m) => !deadIds.has(m)));
    const newest = messages.reduce((max, m) => Math.max(max, m.publishedAt), 0);
    options.metrics?.observeStream(
      fqn,
      { ...counts, dead_letter: dead.length },
      Math.max(0, (clock() - newest) / 1000),
      environment,
    );
  };

  const windowStates = new WeakMap<ResolverSpec, WindowedStreamState>();
  const windowState = (environment: string, spec: ResolverSpec) => {
    let state = windowStates.get(spec);
    if (!state) {
      state = createWindowedStreamState({ store: options.stateStore!, environment, spec });
      windowStates.set(spec, state);
    }
    return state;
  };

  const consumeWindowedBatch = async (
    engine: Engine,
    spec: ResolverSpec,
    deploymentId: string,
    environment: string,
    consumer: BusConsumer,
    messages: readonly BusMessage[],
    now: number,
    lateMs: number | null,
  ): Promise<true> => {
    const outcomes = await parseMessages(engine, spec, messages, environment, deploymentId, now);
    const dead: { message: BusMessage; reason: string }[] = [];
    const rows: WindowRow[] = [];
    let skipped = 0;
    let late = 0;
    messages.forEach((message, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        dead.push({ message, reason: `${outcome.error.kind}: ${outcome.error.message}` });
        return;
      }
      if (outcome.outputs[SKIPPED_OUTPUT] === true) {
        skipped++;
        return;
      }
      const time = outcome.outputs[TIME_OUTPUT];
      // A row from the future counts now: windows end at the clock.
      const at = Math.min(now, typeof time === 'number' ? time : message.publishedAt);
      if (lateMs !== null && now - at > lateMs) {
        late++;
        return;
      }
      rows.push({ message, key: String(outcome.outputs[KEY_OUTPUT]), at, inputs: outcome.outputs });
    });
    const result = await windowState(environment, spec).apply(rows, now);
    const shape = streamShape(engine, spec);
    const results = result.emits.flatMap((emit) =>
      windowResultMessages(shape, spec, emit, environment, deploymentId, now),
    );
    if (results.length > 0) await options.bus.publish(resultTopic, results);
    await result.commit();
    await settleBatch(environment, spec.fqn, consumer, messages, dead, {
      success: result.applied,
      skipped,
      late: late + result.late,
    });
    return true;
  };

  /** Fires a windowed stream's due timers, at most once per bucket boundary; returns the boundary swept. */
  const sweepTimers = async (environment: string, fqn: string, swept: number): Promise<number> => {
    const now = clock();
    const done = await options.served.withEngine(environment, async (deployment) => {
      const spec = deployment.engine.graph.resolvers.find((r) => r.fqn === fqn && r.stream?.windowed);
      if (!spec) return swept;
      const state = windowState(environment, spec);
      const due = Math.floor(now / state.layout.bucketMs) * state.layout.bucketMs;
      if (due <= swept) return swept;
      const shape = streamShape(deployment.engine, spec);
      await state.sweep(now, async (emits) => {
        const results = emits.flatMap((emit) =>
          windowResultMessages(shape, spec, emit, environment, deployment.id, now),
        );
        if (results.length > 0) await options.bus.publish(resultTopic, results);
      });
      return due;
    });
    return done ?? swept;
  };

  return {
    reconcile,
    start() {
      if (timer) return;
      reconcile();
      timer = setInterval(reconcile, options.reconcileIntervalMs ?? 1_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      const stopping = [...loops.values()].map((loop) => loop.stop());
      loops.clear();
      await Promise.all(stopping);
    },
  };
}

/** Where a streaming resolver's outputs go: primary key, feature time, and per feature online/offline. */
interface StreamShape {
  readonly pkParam: string | undefined;
  readonly timeParam: string | undefined;
  /** Features written online and offline (one result message carries both). */
  readonly both: readonly StreamTarget[];
  readonly offlineOnly: readonly StreamTarget[];
  readonly onlineOnly: readonly StreamTarget[];
}

interface StreamTarget {
  readonly param: string;
  readonly fqn: string;
  readonly ttlMs?: number;
}

const shapes = new WeakMap<ResolverSpec, StreamShape>();

function streamShape(engine: Engine, spec: ResolverSpec): StreamShape {
  const known = shapes.get(spec);
  if (known) return known;
  const index = indexGraph(engine.graph);
  const namespace = index.namespaces.get(spec.namespace);
  const pkParam = spec.outputs.find((o) => o.fqn === namespace?.primaryKey)?.param;
  const timeParam = spec.outputs.find((o) => o.fqn === namespace?.featureTime)?.param;
  const both: StreamTarget[] = [];
  const offlineOnly: StreamTarget[] = [];
  const onlineOnly: StreamTarget[] = [];
  for (const output of spec.outputs) {
    if (output.param === pkParam || output.param === timeParam) continue;
    const feature = index.features.get(output.fqn);
    if (feature?.kind !== 'scalar') continue;
    const online =
      feature.storeOnline && feature.etlOfflineToOnline && feature.maxStalenessS !== 0
        ? feature.maxStalenessS === null
          ? output
          : { ...output, ttlMs: feature.maxStalenessS * 1000 }
        : undefined;
    if (online && feature.storeOffline) both.push(online);
    else if (online) onlineOnly.push(online);
    else if (feature.storeOffline) offlineOnly.push(output);
  }
  const shape = { pkParam, timeParam, both, offlineOnly, onlineOnly };
  shapes.set(spec, shape);
  return shape;
}

/** A windowed stream's emit as result messages: every window of the entity, observed now. */
function windowResultMessages(
  shape: StreamShape,
  spec: ResolverSpec,
  emit: { key: string; values: Readonly<Record<string, number | null>>; operationId: string },
  environment: string,
  deploymentId: string,
  now: number,
): OutgoingMessage[] {
  const outputs: Record<string, unknown> = { [shape.pkParam ?? KEY_OUTPUT]: emit.key };
  for (const output of spec.outputs)
    if (output.fqn in emit.values) outputs[output.param] = emit.values[output.fqn];
  return resultMessages(
    shape,
    spec,
    outputs,
    { operation: emit.operationId, observedAt: now },
    environment,
    deploymentId,
    now,
  );
}

/**
 * The result message(s) of one parsed stream message (or windowed emit): ids derived from `operation`
 * (the stream message's id), so writes are idempotent.
 */
function resultMessages(
  shape: StreamShape,
  spec: ResolverSpec,
  outputs: Readonly<Record<string, unknown>>,
  source: { readonly operation: string; readonly observedAt: number },
  environment: string,
  deploymentId: string,
  now: number,
): OutgoingMessage[] {
  const pkey = shape.pkParam === undefined ? undefined : outputs[shape.pkParam];
  if (pkey == null) return [];
  const at = shape.timeParam === undefined ? undefined : outputs[shape.timeParam];
  const observedAt = at == null ? source.observedAt : new Date(at as string | number | Date).getTime();
  const value = (param: string) => {
    const v = outputs[param];
    return v instanceof Date ? v.toISOString() : (v ?? null);
  };
  const values = (targets: readonly StreamTarget[]): ResultValue[] =>
    targets.map((t) => ({
      feature: t.fqn,
      pkey: String(pkey),
      value: value(t.param),
      observedAt,
      resolver: spec.fqn,
      ...(t.ttlMs === undefined ? {} : { ttlMs: t.ttlMs }),
    }));
  const envelope = (
    kind: string,
    list: ResultValue[],
    online: boolean,
    offline: boolean,
  ): OutgoingMessage => {
    const operationId = `${source.operation}:${kind}`;
    const body: ResultMessageInput = {
      version: 1,
      environment,
      operationId,
      operationKind: 'UPLOAD_FEATURES',
      deploymentId,
      insertedAt: now,
      values: list,
      writeOnline: online,
      writeOffline: offline,
    };
    return { key: environment, value: JSON.stringify(body), id: operationId };
  };
  // Usually one result message per stream message (every feature online and offline).
  const out: OutgoingMessage[] = [];
  if (shape.both.length > 0) out.push(envelope('all', values(shape.both), true, true));
  if (shape.offlineOnly.length > 0) out.push(envelope('offline', values(shape.offlineOnly), false, true));
  if (shape.onlineOnly.length > 0) out.push(envelope('online', values(shape.onlineOnly), true, false));
  return out;
}
