import type { StreamResolverSettings } from '@slate/graph';
import { z } from 'zod';

type WindowedSettings = NonNullable<StreamResolverSettings['windowed']>;
type AggregationFunction = WindowedSettings['aggregations'][number]['function'];

/**
 * One window of one aggregation, in the layout the bucket arithmetic needs: a window covers the `span`
 * most recent epoch-aligned slots of `slotMs` (the current one included) — for continuous windows the
 * slots are the buckets, for tumbling ones the window itself (one slot). `span` is `Infinity` for "all".
 */
export interface WindowLayout {
  readonly fqn: string;
  readonly slotMs: number;
  readonly span: number;
}

export interface AggregationLayout {
  readonly param: string;
  readonly function: AggregationFunction;
  readonly windows: readonly WindowLayout[];
}

/** How a windowed stream's per-entity state is bucketed and read. */
export interface BucketLayout {
  /** Width of the stored buckets (epoch-aligned); divides every window's slot. */
  readonly bucketMs: number;
  readonly aggregations: readonly AggregationLayout[];
  /** Some window is "all": buckets leaving every finite window fold into a running total. */
  readonly hasAll: boolean;
  /** How long a bucket stays in some finite window (the state's useful life after its last row). */
  readonly horizonMs: number;
}

export function bucketLayout(settings: WindowedSettings): BucketLayout {
  const bucketMs = settings.bucketS * 1000;
  const aggregations = settings.aggregations.map((aggregation) => ({
    param: aggregation.param,
    function: aggregation.function,
    windows: aggregation.windows.map((window): WindowLayout => {
      if (window.seconds === null)
        return { fqn: window.fqn, slotMs: bucketMs, span: Number.POSITIVE_INFINITY };
      const windowMs = window.seconds * 1000;
      return settings.windowMode === 'tumbling'
        ? { fqn: window.fqn, slotMs: windowMs, span: 1 }
        : { fqn: window.fqn, slotMs: bucketMs, span: windowMs / bucketMs };
    }),
  }));
  const finite = aggregations.flatMap((a) => a.windows.filter((w) => Number.isFinite(w.span)));
  return {
    bucketMs,
    aggregations,
    hasAll: aggregations.some((a) => a.windows.some((w) => !Number.isFinite(w.span))),
    horizonMs: Math.max(bucketMs, ...finite.map((w) => w.span * w.slotMs)),
  };
}

/** A partial aggregate: `count` keeps a number, the others `[rows, sum, min, max]`. */
type Partial = number | [number, number, number | null, number | null];

/** The state of one entity of one windowed stream, as stored (JSON) in the online store. */
export interface WindowState {
  /** Partials per bucket start (epoch ms), aligned with the layout's aggregations. */
  b: Record<string, Partial[]>;
  /** Buckets that left every finite window, folded together (only when a window is "all"). */
  a?: Partial[];
  /** The newest offset applied per bus partition: redeliveries at or below it are not applied again. */
  o: Record<string, string>;
  /** The time the entity's timer is registered for (when a bucket next leaves a window). */
  t?: number | null;
}

const PartialSchema = z.union([
  z.number(),
  z.tuple([z.number(), z.number(), z.number().nullable(), z.number().nullable()]),
]);
export const WindowStateSchema = z.object({
  b: z.record(z.string(), z.array(PartialSchema)),
  a: z.array(PartialSchema).optional(),
  o: z.record(z.string(), z.string()),
  t: z.number().nullable().optional(),
});

export const emptyWindowState = (): WindowState => ({ b: {}, o: {} });

const emptyPartial = (fn: AggregationFunction): Partial => (fn === 'count' ? 0 : [0, 0, null, null]);

function addTo(partial: Partial, value: number): Partial {
  if (typeof partial === 'number') return partial + value;
  const [n, sum, min, max] = partial;
  return [
    n + 1,
    sum + value,
    min === null ? value : Math.min(min, value),
    max === null ? value : Math.max(max, value),
  ];
}

function merge(a: Partial, b: Partial): Partial {
  if (typeof a === 'number' || typeof b === 'number') return (a as number) + (b as number);
  const min = a[2] === null ? b[2] : b[2] === null ? a[2] : Math.min(a[2], b[2]);
  const max = a[3] === null ? b[3] : b[3] === null ? a[3] : Math.max(a[3], b[3]);
  return [a[0] + b[0], a[1] + b[1], min, max];
}

function finish(fn: AggregationFunction, partial: Partial): number | null {
  if (typeof partial === 'number') return partial;
  const [n, sum, min, max] = partial;
  switch (fn) {
    case 'sum':
      return sum;
    case 'min':
      return min;
    case 'max':
      return max;
    default:
      return n === 0 ? null : sum / n;
  }
}

/** When the bucket starting at `start` leaves `window` (the first instant it no longer covers it). */
const leaves = (window: WindowLayout, start: number) =>
  (Math.floor(start / window.slotMs) + window.span) * window.slotMs;

const covers = (window: WindowLayout, start: number, now: number) =>
  start <= now && leaves(window, start) > now;

/** Whether a bucket still counts in some finite window at `now`. */
function live(layout: BucketLayout, start: number, now: number): boolean {
  return layout.aggregations.some((a) =>
    a.windows.some((w) => Number.isFinite(w.span) && covers(w, start, now)),
  );
}

/**
 * Adds one row (its inputs by aggregation param, at event time `at`) to the state. Returns false (and
 * changes nothing) when the row's bucket has left every window — only possible without an "all" window.
 */
export function addRow(
  layout: BucketLayout,
  state: WindowState,
  inputs: Readonly<Record<string, unknown>>,
  at: number,
  now: number,
): boolean {
  const start = Math.floor(at / layout.bucketMs) * layout.bucketMs;
  const inWindow = live(layout, start, now);
  if (!inWindow && !layout.hasAll) return false;
  const fold = (partials: Partial[]) =>
    layout.aggregations.map((aggregation, i) => {
      const partial = partials[i] ?? emptyPartial(aggregation.function);
      const value = inputs[aggregation.param];
      return typeof value === 'number' ? addTo(partial, value) : partial;
    });
  if (inWindow) state.b[start] = fold(state.b[start] ?? []);
  else state.a = fold(state.a ?? []);
  return true;
}

/** Drops buckets that left every finite window (folding them into the "all" total when there is one). */
export function prune(layout: BucketLayout, state: WindowState, now: number): void {
  for (const [key, partials] of Object.entries(state.b)) {
    const start = Number(key);
    if (live(layout, start, now)) continue;
    if (layout.hasAll)
      state.a = layout.aggregations.map((aggregation, i) =>
        merge(
          state.a?.[i] ?? emptyPartial(aggregation.function),
          partials[i] ?? emptyPartial(aggregation.function),
        ),
      );
    delete state.b[key];
  }
}

/** Every window's value at `now`, by window FQN: the merge of the buckets it covers. */
export function windowValues(
  layout: BucketLayout,
  state: WindowState,
  now: number,
): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  const buckets = Object.entries(state.b).map(([key, partials]) => [Number(key), partials] as const);
  layout.aggregations.forEach((aggregation, i) => {
    const empty = emptyPartial(aggregation.function);
    for (const window of aggregation.windows) {
      let partial = Number.isFinite(window.span) ? empty : (state.a?.[i] ?? empty);
      for (const [start, partials] of buckets)
        if (Number.isFinite(window.span) ? covers(window, start, now) : start <= now)
          partial = merge(partial, partials[i] ?? empty);
      values[window.fqn] = finish(aggregation.function, partial);
    }
  });
  return values;
}

/** The next instant after `now` at which a stored bucket leaves a finite window (null: none will). */
export function nextChange(layout: BucketLayout, state: WindowState, now: number): number | null {
  let next: number | null = null;
  for (const key of Object.keys(state.b)) {
    const start = Number(key);
    for (const aggregation of layout.aggregations)
      for (const window of aggregation.windows) {
        if (!Number.isFinite(window.span)) continue;
        const at = leaves(window, start);
        if (at > now && (next === null || at < next)) next = at;
      }
  }
  return next;
}

/**
 * A bus offset as a partition and a comparable position: the embedded log's `"17"`, Redis Streams'
 * `"1700000000000-3"`, Kafka's `"2:17"`.
 */
export function offsetPosition(offset: string): { partition: string; position: bigint[] } {
  const colon = offset.indexOf(':');
  const partition = colon < 0 ? '' : offset.slice(0, colon);
  const position = (colon < 0 ? offset : offset.slice(colon + 1)).split('-').map((part) => {
    try {
      return BigInt(part);
    } catch {
      return 0n;
    }
  });
  return { partition, position };
}

/** Compares two positions of one partition: negative, zero or positive. */
export function comparePositions(a: readonly bigint[], b: readonly bigint[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0n;
    const y = b[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
