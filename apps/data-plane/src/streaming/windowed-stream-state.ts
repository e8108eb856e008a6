import { createHash } from 'node:crypto';
import type { ResolverSpec } from '@slate/graph';
import type { BusMessage, OnlineEntry, OnlineStore } from '@slate/stores';
import {
  addRow,
  type BucketLayout,
  bucketLayout,
  comparePositions,
  emptyWindowState,
  nextChange,
  offsetPosition,
  prune,
  type WindowState,
  WindowStateSchema,
  windowValues,
} from './window-buckets.ts';

/** A parsed row of a windowed stream: its entity, event time and aggregation inputs. */
export interface WindowRow {
  readonly message: BusMessage;
  readonly key: string;
  /** Event time, epoch ms (never after the consumer's clock). */
  readonly at: number;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** An entity whose windows changed: its values by window FQN, and an idempotency id for the emit. */
export interface WindowEmit {
  readonly key: string;
  readonly values: Readonly<Record<string, number | null>>;
  readonly operationId: string;
}

export interface WindowApplyResult {
  readonly emits: readonly WindowEmit[];
  /** Persists the new state (and timers); call it once the emits are published, before acknowledging. */
  commit(): Promise<void>;
  /** Rows applied to a bucket (first deliveries). */
  readonly applied: number;
  /** Rows whose bucket left every window (late). */
  readonly late: number;
  /** Redeliveries of rows already applied (skipped). */
  readonly duplicates: number;
}

/**
 * The durable state of one windowed streaming resolver in one environment, kept in the online store: per
 * entity its bucket partials and the newest offset it applied per bus partition (one value, written in one
 * call, so a redelivered message is recognised by its offset and never counted twice), plus a timer wheel
 * (entities by the instant a bucket next leaves one of their windows, and the instant swept up to), so
 * windows shrink on time even after a restart.
 *
 * Each call is a read-modify-write: one consumer at a time must own an entity. That holds for the loops
 * of one data plane (one per resolver) and for Kafka when messages are keyed by entity; several data planes
 * sharing a Redis Streams group could interleave on one entity.
 */
export interface WindowedStreamState {
  readonly layout: BucketLayout;
  /**
   * Applies a batch's rows (grouped by entity, in offset order) to the stored state and returns the emits;
   * nothing is written until `commit`, so a crash before it replays the batch from the old state.
   */
  apply(rows: readonly WindowRow[], now: number): Promise<WindowApplyResult>;
  /**
   * Fires the timers due by `now` (at most `maxBoundaries` bucket boundaries per call): the entities whose
   * windows lost a bucket get emitted again. `publish` runs before the state moves on, so a crash replays.
   */
  sweep(
    now: number,
    publish: (emits: readonly WindowEmit[]) => Promise<void>,
    maxBoundaries?: number,
  ): Promise<void>;
}

export function createWindowedStreamState(options: {
  readonly store: OnlineStore;
  readonly environment: string;
  readonly spec: ResolverSpec;
}): WindowedStreamState {
  const { store, environment, spec } = options;
  const settings = spec.stream!.windowed!;
  const layout = bucketLayout(settings);
  // A changed definition (windows, aggregations, buckets) starts from fresh state rather than misread it.
  const version = createHash('sha256')
    .update(JSON.stringify([spec.stream!.topic, settings]))
    .digest('hex')
    .slice(0, 12);
  const stateFeature = `__slate.window-state.${spec.fqn}.${version}`;
  const timerFeature = `__slate.window-timers.${spec.fqn}.${version}`;
  const CURSOR = 'cursor';
  // Keep an idle entity's state a while after its buckets left every window; "all" windows keep it forever.
  const stateTtlMs = layout.hasAll ? undefined : layout.horizonMs * 2 + layout.bucketMs;
  const timerTtlMs = layout.horizonMs * 4 + layout.bucketMs * 4;

  const load = async (keys: readonly string[]) => {
    const stored = await store.get(
      environment,
      keys.map((pkey) => ({ feature: stateFeature, pkey })),
    );
    return new Map(
      keys.map((key, i) => {
        const parsed = WindowStateSchema.safeParse(stored[i]?.value);
        return [
          key,
          {
            state: parsed.success ? (parsed.data as WindowState) : emptyWindowState(),
            observedAt: stored[i]?.observedAt ?? 0,
          },
        ];
      }),
    );
  };

  /** Registers each entity's next change in the timer wheel (only when it moved). */
  const registerTimers = async (entities: [string, WindowState][], now: number) => {
    const byTime = new Map<number, string[]>();
    for (const [key, state] of entities) {
      const next = nextChange(layout, state, now);
      if (next !== null && next !== state.t) {
        const keys = byTime.get(next);
        if (keys) keys.push(key);
        else byTime.set(next, [key]);
      }
      state.t = next;
    }
    if (byTime.size === 0) return;
    const times = [...byTime.keys()];
    const stored = await store.get(
      environment,
      times.map((at) => ({ feature: timerFeature, pkey: String(at) })),
    );
    await store.set(
      environment,
      times.map((at, i) => {
        const known = Array.isArray(stored[i]?.value) ? (stored[i]!.value as string[]) : [];
        return {
          feature: timerFeature,
          pkey: String(at),
          value: [...new Set([...known, ...byTime.get(at)!])],
          observedAt: Math.max(now, (stored[i]?.observedAt ?? 0) + 1),
          ttlMs: timerTtlMs,
        };
      }),
    );
  };

  const save = async (
    entities: [string, { state: WindowState; observedAt: number }][],
    now: number,
  ): Promise<void> => {
    const entries: OnlineEntry[] = entities.map(([key, { state, observedAt }]) => ({
      feature: stateFeature,
      pkey: key,
      value: state,
      // Never backdated below the stored write, or the store would ignore it.
      observedAt: Math.max(now, observedAt + 1),
      ...(stateTtlMs === undefined ? {} : { ttlMs: stateTtlMs }),
    }));
    if (entries.length > 0) await store.set(environment, entries);
  };

  return {
    layout,
    async apply(rows, now) {
      const byKey = new Map<string, WindowRow[]>();
      for (const row of rows) {
        const keyRows = byKey.get(row.key);
        if (keyRows) keyRows.push(row);
        else byKey.set(row.key, [row]);
      }
      if (byKey.size === 0) return { emits: [], applied: 0, late: 0, duplicates: 0, commit: async () => {} };
      const loaded = await load([...byKey.keys()]);
      let applied = 0;
      let late = 0;
      let duplicates = 0;
      const emits: WindowEmit[] = [];
      const changed: [string, { state: WindowState; observedAt: number }][] = [];
      for (const [key, keyRows] of byKey) {
        const entry = loaded.get(key)!;
        const { state } = entry;
        const ordered = keyRows
          .map((row) => ({ row, ...offsetPosition(row.message.offset) }))
          .sort((a, b) =>
            a.partition === b.partition
              ? comparePositions(a.position, b.position)
              : a.partition < b.partition
                ? -1
                : 1,
          );
        let last: BusMessage | undefined;
        for (const { row, partition, position } of ordered) {
          const seen = state.o[partition];
          if (seen !== undefined && comparePositions(position, offsetPosition(seen).position) <= 0) {
            duplicates++;
            continue;
          }
          state.o[partition] = row.message.offset;
          last = row.message;
          if (addRow(layout, state, row.inputs, row.at, now)) applied++;
          else late++;
        }
        if (!last) continue;
        prune(layout, state, now);
        changed.push([key, entry]);
        emits.push({
          key,
          values: windowValues(layout, state, now),
          operationId: `stream-window:${spec.fqn}:${last.topic}:${last.id}:${key}`,
        });
      }
      const commit = async () => {
        // Timers first: a crash between the two re-registers them on replay (a set union).
        await registerTimers(
          changed.map(([key, { state }]) => [key, state]),
          now,
        );
        await save(changed, now);
      };
      return { emits, applied, late, duplicates, commit };
    },
    async sweep(now, publish, maxBoundaries = 1_000) {
      const [cursorValue] = await store.get(environment, [{ feature: timerFeature, pkey: CURSOR }]);
      const due = Math.floor(now / layout.bucketMs) * layout.bucketMs;
      const cursor = typeof cursorValue?.value === 'number' ? cursorValue.value : null;
      const moveCursor = (to: number) =>
        store.set(environment, [
          {
            feature: timerFeature,
            pkey: CURSOR,
            value: to,
            observedAt: Math.max(now, (cursorValue?.observedAt ?? 0) + 1),
          },
        ]);
      if (cursor === null || cursor >= due) {
        if (cursor === null) await moveCursor(due);
        return;
      }
      const boundaries: number[] = [];
      for (
        let at = cursor + layout.bucketMs;
        at <= due && boundaries.length < maxBoundaries;
        at += layout.bucketMs
      )
        boundaries.push(at);
      const fired = await store.get(
        environment,
        boundaries.map((at) => ({ feature: timerFeature, pkey: String(at) })),
      );
      const keys = new Map<string, number>();
      fired.forEach((entry, i) => {
        if (Array.isArray(entry?.value))
          for (const key of entry.value as string[]) keys.set(String(key), boundaries[i]!);
      });
      if (keys.size > 0) {
        const loaded = await load([...keys.keys()]);
        const emits: WindowEmit[] = [];
        const changed: [string, { state: WindowState; observedAt: number }][] = [];
        for (const [key, entry] of loaded) {
          // A timer outlived its entity's state (expired): nothing left to shrink.
          if (Object.keys(entry.state.b).length === 0 && entry.state.a === undefined) continue;
          prune(layout, entry.state, now);
          entry.state.t = null;
          changed.push([key, entry]);
          emits.push({
            key,
            values: windowValues(layout, entry.state, now),
            operationId: `stream-window:${spec.fqn}:timer:${keys.get(key)}:${key}`,
          });
        }
        await publish(emits);
        await registerTimers(
          changed.map(([key, { state }]) => [key, state]),
          now,
        );
        await save(changed, now);
      }
      const reached = boundaries.at(-1)!;
      await store.delete(
        environment,
        boundaries.map((at) => ({ feature: timerFeature, pkey: String(at) })),
      );
      await moveCursor(reached);
    },
  };
}
